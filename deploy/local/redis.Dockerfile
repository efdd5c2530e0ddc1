# Redis from Debian's `redis-server` package on the Debian base, for machines
# that cannot pull the official `redis` image (docker-compose.local.yml).
# As the official image: data in /data (the working directory), `redis-cli`
# on the PATH, and protected mode off when no configuration file is given,
# since only the compose network reaches it.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data && chown redis:redis /data

COPY redis-entrypoint.sh /usr/local/bin/redis-entrypoint.sh
VOLUME /data
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/redis-entrypoint.sh"]
CMD ["redis-server"]
