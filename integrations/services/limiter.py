"""A per-robot rate limiter: sliding windows, in Redis when configured, else in the database.

Each platform documents its limits (WeCom and DingTalk 20 messages a minute,
Feishu 100 a minute and 5 a second); DingTalk blocks a robot for ten minutes
past its limit. A slot is taken before a message is posted and counts
whatever the answer, as the platform counts requests. The database limiter
counts the robot's messages in each window under the robot's row lock (the
caller holds it); the Redis one keeps a sorted set of send times per robot,
checked and written atomically by a Lua script, so robots shared by several
workers stay under their limits.
"""

import uuid
from datetime import datetime, timedelta

from django.conf import settings

from integrations.models import Robot, RobotMessage

# (messages, seconds) per platform; every window must have room for a slot.
PLATFORM_LIMITS: dict[str, tuple[tuple[int, int], ...]] = {
    Robot.Platform.WECOM: ((20, 60),),
    Robot.Platform.DINGTALK: ((20, 60),),
    Robot.Platform.FEISHU: ((100, 60), (5, 1)),
}

_LUA = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local member = ARGV[2]
local longest = 0
local wait = 0
for i = 3, #ARGV, 2 do
  local limit = tonumber(ARGV[i])
  local window = tonumber(ARGV[i + 1])
  if window > longest then longest = window end
  local count = redis.call('ZCOUNT', key, '(' .. (now - window), '+inf')
  if count >= limit then
    local oldest = redis.call('ZRANGEBYSCORE', key, '(' .. (now - window), '+inf',
                              'WITHSCORES', 'LIMIT', count - limit, 1)
    local free_at = tonumber(oldest[2]) + window
    if free_at - now > wait then wait = free_at - now end
  end
end
if wait > 0 then return tostring(wait) end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - longest)
redis.call('ZADD', key, now, member)
redis.call('EXPIRE', key, math.ceil(longest) + 1)
return '0'
"""

_redis_client = None


def _redis():
    global _redis_client
    if _redis_client is None:
        import redis

        _redis_client = redis.Redis.from_url(settings.REDIS_URL)
    return _redis_client


def limiter_backend() -> str:
    """`redis` when REDIS_URL is set (and ROBOT_LIMITER is not `db`), else `db`."""
    chosen = getattr(settings, "ROBOT_LIMITER", "")
    if chosen in ("redis", "db"):
        return chosen
    return "redis" if getattr(settings, "REDIS_URL", "") else "db"


def robot_slot_take(*, robot: Robot, now: datetime) -> timedelta | None:
    """Take a slot for one message now, or return how long until one frees (nothing taken).

    The database backend needs the robot's row locked by the caller, and the
    message row written in the same transaction (it is the slot).
    """
    limits = PLATFORM_LIMITS[robot.platform]
    if limiter_backend() == "redis":
        return _redis_take(robot=robot, now=now, limits=limits)
    wait = timedelta(0)
    for limit, seconds in limits:
        window = timedelta(seconds=seconds)
        recent = list(
            RobotMessage.objects.filter(robot=robot, claimed_at__gt=now - window)
            .order_by("-claimed_at")
            .values_list("claimed_at", flat=True)[:limit]
        )
        if len(recent) >= limit:
            wait = max(wait, recent[-1] + window - now)
    return wait if wait > timedelta(0) else None


def _redis_take(
    *, robot: Robot, now: datetime, limits: tuple[tuple[int, int], ...]
) -> timedelta | None:
    args: list[object] = [repr(now.timestamp()), f"{now.timestamp()!r}-{uuid.uuid4().hex}"]
    for limit, seconds in limits:
        args.extend([limit, seconds])
    key = f"{getattr(settings, 'ROBOT_LIMITER_PREFIX', 'huikuan:robot')}:{robot.pk}"
    answer = float(_redis().eval(_LUA, 1, key, *args))
    if answer <= 0:
        return None
    # A hair over the reported wait, so the retry lands in the freed window.
    return timedelta(seconds=answer + 0.001)
