"""Which beacon-chain epochs and slots make up an Ethereum period (a UTC day), as pure arithmetic.

slot time = genesis_time + slot × SECONDS_PER_SLOT; an epoch belongs to the day its first slot is in
(issue 9). Every slot of an epoch belongs to the epoch's day, so the days tile the chain: no slot is
counted on two days or on none. The beacon and the MEV-Boost relay adapters use the same window, so
a day's proposer rewards and its MEV payloads cover exactly the same slots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

MAINNET_GENESIS_TIME = 1606824023
MAINNET_SECONDS_PER_SLOT = 12
MAINNET_SLOTS_PER_EPOCH = 32


@dataclass(frozen=True)
class SlotClock:
    genesis_time: int  # unix seconds
    seconds_per_slot: int
    slots_per_epoch: int

    @property
    def seconds_per_epoch(self) -> int:
        return self.seconds_per_slot * self.slots_per_epoch

    def slot_time(self, slot: int) -> datetime:
        return datetime.fromtimestamp(self.genesis_time + slot * self.seconds_per_slot, UTC)

    def epoch_start(self, epoch: int) -> datetime:
        return self.slot_time(epoch * self.slots_per_epoch)

    def first_epoch_at_or_after(self, moment: datetime) -> int:
        """The first epoch whose first slot is at or after `moment` (0 before genesis)."""
        offset = int(moment.timestamp()) - self.genesis_time
        if offset <= 0:
            return 0
        return -(-offset // self.seconds_per_epoch)  # ceiling division

    def day_window(self, start: datetime, end: datetime) -> DayWindow:
        """The epochs whose first slot is in [start, end)."""
        first = self.first_epoch_at_or_after(start)
        after = self.first_epoch_at_or_after(end)
        return DayWindow(first, after - 1, self.slots_per_epoch)


MAINNET = SlotClock(MAINNET_GENESIS_TIME, MAINNET_SECONDS_PER_SLOT, MAINNET_SLOTS_PER_EPOCH)


@dataclass(frozen=True)
class DayWindow:
    first_epoch: int
    last_epoch: int  # inclusive; < first_epoch when no epoch starts in the period
    slots_per_epoch: int

    @property
    def epochs(self) -> range:
        return range(self.first_epoch, self.last_epoch + 1)

    @property
    def first_slot(self) -> int:
        return self.first_epoch * self.slots_per_epoch

    @property
    def last_slot(self) -> int:
        return (self.last_epoch + 1) * self.slots_per_epoch - 1

    @property
    def slots(self) -> range:
        return range(self.first_slot, self.last_slot + 1)

    def slots_of(self, epoch: int) -> range:
        return range(epoch * self.slots_per_epoch, (epoch + 1) * self.slots_per_epoch)


def day_bounds(
    period: str, start: datetime | None = None, end: datetime | None = None
) -> tuple[datetime, datetime]:
    """A period's bounds: as registered, else the UTC day named `YYYY-MM-DD` (SPEC §3)."""
    if start is not None and end is not None:
        return _utc(start), _utc(end)
    day = date.fromisoformat(period)
    first = datetime.combine(day, time(0), UTC)
    return first, first + timedelta(days=1)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
