"""The chain's configuration: one frozen value that both simulators and the twin read.

A :class:`ChainConfig` is what a block would carry when the configuration changes
at run time: the protocol in force, the block limits, the timeouts, the message
model, and the validator set with its propagation latencies. It is cheap to
compare (the propagation matrix is compared by identity first) and to replace
(:meth:`ChainConfig.replace` validates again).

Its methods are the rules that read it, stated once for the chain, the round oracle
and the twin's analysis: block filling, the minimum block interval, the round timer
(:mod:`dtopt.consensus.timers`), message sizes, the message delay and its inverse,
elementwise on numpy arrays as well as on Python scalars. Inputs are checked by
:mod:`dtopt.consensus.checks`. Units: seconds, MB, MB/s.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dtopt.consensus.checks import check_dpos, check_names, check_number, check_propagation
from dtopt.consensus.protocols import (
    BLOCK_MESSAGES,
    MessageCosts,
    MessageKind,
    ProtocolRules,
    get_protocol,
    message_delay_s,
)
from dtopt.consensus.timers import MAX_ROUND_TIMER_DOUBLINGS, ROUND_TIMERS, doubled
from dtopt.errors import DtoptError

__all__ = [
    "BANDWIDTH_MODELS",
    "MAX_DEFAULT_DELEGATES",
    "ChainConfig",
]

#: DPoS's default number of delegates: every validator, up to this many (as EOS elects 21).
MAX_DEFAULT_DELEGATES: Final = 21

#: How a link's bandwidth is taken: the sender's upload (default) or the slower of
#: sender and receiver (as some other simulators assume).
BANDWIDTH_MODELS: Final = ("sender", "slower")

_VOTES: Final = (MessageKind.PREPARE, MessageKind.COMMIT)  # the votes that may carry the block


def _maximum(a: Any, b: Any) -> Any:
    """``np.maximum`` for arrays (the oracle); for scalars (the event-driven chain) the builtin
    ``max``, which returns one of its inputs and keeps a Python float a Python float."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.maximum(a, b)
    return max(a, b)


@dataclass(frozen=True, eq=False, kw_only=True)
class ChainConfig:
    """The chain's configuration (validated on construction; bad values raise DtoptError).

    Attributes
    ----------
    validators : the M block producers, in rotation order.
    nodes : all K nodes (validators and followers); default: the validators.
    propagation_s : one-way propagation latency between ``nodes``, shape ``(K, K)``
        (s), zero diagonal; default all zero.
    protocol : the consensus protocol in force (``"IBFT"``, ``"BigFoot"`` or ``"DPoS"``).
    tx_size_mb : size of every transaction (MB).
    max_block_mb : maximum block size (MB); a block holds ``floor(max_block_mb / tx_size_mb)`` tx.
    min_block_interval_s : a proposer waits at least this long after the previous block's proposal.
    round_timeout_s : round 0 that has not committed after this long (since it started)
        changes round; a later round waits as :attr:`round_timer` says.
    fast_path_timeout_s : a fast-path protocol's timeout, from the round start (< round_timeout_s),
        in round 0; it grows with the round timer (the same factor, so the ratio holds).
    round_timer : ``"doubling"`` (default; IBFT 2.0: round r waits ``round_timeout_s * 2^r``,
        capped at 2^:data:`MAX_ROUND_TIMER_DOUBLINGS`, from round 0 again at each height)
        or ``"fixed"`` (every round waits ``round_timeout_s``). See :meth:`round_timer_s`.
    costs : message sizes and validation/creation times.
    votes_carry_block : PREPARE and COMMIT also carry the block (as SymBChainSim sends
        them); default off: only the PRE-PREPARE does.
    bandwidth_model : ``"sender"`` (a message leaves at the sender's upload
        bandwidth, default) or ``"slower"`` (the slower of sender and receiver).
    stake : DPoS: each validator's stake, one per validator, >= 0; empty (default): equal.
    delegates : DPoS: how many delegates are elected (the N with the most stake);
        default every validator, up to 21.
    epoch_slots : DPoS: slots per epoch; the election is re-run at every epoch start.
    slot_s : DPoS: the slot length, which is its block interval: the slot's delegate
        produces one block at the slot's start (s); default 3 s.
    """

    validators: tuple[str, ...]
    nodes: tuple[str, ...] = ()
    propagation_s: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))
    protocol: str = "IBFT"
    tx_size_mb: float = 0.005
    max_block_mb: float = 1.0
    min_block_interval_s: float = 0.1
    round_timeout_s: float = 10.0
    fast_path_timeout_s: float = 5.0
    round_timer: str = "doubling"
    costs: MessageCosts = field(default_factory=MessageCosts)
    votes_carry_block: bool = False
    bandwidth_model: str = "sender"
    stake: tuple[float, ...] = ()
    delegates: int | None = None
    epoch_slots: int = 100
    slot_s: float = 3.0

    def __post_init__(self) -> None:
        where = "chain config"
        validators = check_names(where, "validators (producers)", self.validators)
        if not validators:
            raise DtoptError(f"{where}: producers must not be empty")
        nodes = check_names(where, "nodes", self.nodes) or validators
        unknown = sorted(set(validators) - set(nodes))
        if unknown:
            raise DtoptError(f"{where}: producers {unknown} are not in nodes")
        object.__setattr__(self, "validators", validators)
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "protocol", get_protocol(self.protocol).name)
        for name in ("tx_size_mb", "max_block_mb", "round_timeout_s", "fast_path_timeout_s"):
            object.__setattr__(self, name, check_number(where, name, getattr(self, name), strict=True))
        interval = check_number(where, "min_block_interval_s", self.min_block_interval_s)
        object.__setattr__(self, "min_block_interval_s", interval)
        if self.max_block_mb < self.tx_size_mb:
            raise DtoptError(
                f"{where}: max_block_mb ({self.max_block_mb:g}) is smaller than one transaction "
                f"({self.tx_size_mb:g} MB)"
            )
        if self.fast_path_timeout_s >= self.round_timeout_s:
            raise DtoptError(
                f"{where}: fast_path_timeout_s ({self.fast_path_timeout_s:g}) must be below "
                f"round_timeout_s ({self.round_timeout_s:g})"
            )
        if not isinstance(self.costs, MessageCosts):
            raise DtoptError(f"{where}: costs must be a MessageCosts, got {type(self.costs).__name__}")
        if not isinstance(self.votes_carry_block, bool):
            raise DtoptError(f"{where}: votes_carry_block must be true or false, got "
                             f"{self.votes_carry_block!r}")
        if self.round_timer not in ROUND_TIMERS:
            raise DtoptError(
                f"{where}: round_timer must be one of {', '.join(ROUND_TIMERS)}, got {self.round_timer!r}"
            )
        if self.bandwidth_model not in BANDWIDTH_MODELS:
            raise DtoptError(
                f"{where}: bandwidth_model must be one of {', '.join(BANDWIDTH_MODELS)}, "
                f"got {self.bandwidth_model!r}"
            )
        object.__setattr__(self, "propagation_s", check_propagation(where, self.propagation_s, len(nodes)))
        dpos = check_dpos(where, self.stake, self.delegates, self.epoch_slots, self.slot_s, len(validators))
        for name, value in dpos.items():
            object.__setattr__(self, name, value)

    def _key(self) -> tuple:
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "propagation_s")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ChainConfig):
            return NotImplemented
        return self._key() == other._key() and (
            self.propagation_s is other.propagation_s
            or np.array_equal(self.propagation_s, other.propagation_s)
        )

    def __hash__(self) -> int:
        return self._hash

    @cached_property
    def _hash(self) -> int:  # frozen: computed once (configurations key caches on hot paths)
        return hash(self._key())

    def replace(self, **changes: Any) -> ChainConfig:
        """A copy with some fields replaced (validated again)."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ derived

    @property
    def n_validators(self) -> int:
        return len(self.validators)

    @cached_property
    def validator_index(self) -> tuple[int, ...]:
        """Index of each validator in :attr:`nodes`."""
        return tuple(self.nodes.index(v) for v in self.validators)

    @cached_property
    def validator_propagation_s(self) -> NDArray[np.float64]:
        """Propagation latency between validators only, shape ``(M, M)`` (s)."""
        index = self.validator_index
        prop = self.propagation_s[np.ix_(index, index)]
        prop.setflags(write=False)
        return prop

    @property
    def n_delegates(self) -> int:
        """DPoS: delegates elected per epoch (:attr:`delegates`, default min(M, 21))."""
        return min(self.n_validators, MAX_DEFAULT_DELEGATES) if self.delegates is None else self.delegates

    @cached_property
    def stake_weights(self) -> NDArray[np.float64]:
        """DPoS: every validator's stake, shape ``(M,)`` (equal when :attr:`stake` is empty)."""
        stake = np.array(self.stake if self.stake else (1.0,) * self.n_validators, dtype=float)
        stake.setflags(write=False)
        return stake

    @cached_property
    def rules(self) -> ProtocolRules:
        """The rules of the protocol in force."""
        return get_protocol(self.protocol)

    # ------------------------------------------------------------------ block rules

    @property
    def block_capacity_tx(self) -> int:
        """Transactions that fit in one block: ``floor(max_block_mb / tx_size_mb)``."""
        return math.floor(self.max_block_mb / self.tx_size_mb + 1e-9)  # tolerate 1.0 / 0.005 rounding

    def block_tx(self, pooled_tx: ArrayLike) -> Any:
        """Transactions a proposer takes from a pool of ``pooled_tx``: the oldest, up to capacity."""
        if not isinstance(pooled_tx, np.ndarray):
            return min(pooled_tx, self.block_capacity_tx)
        return np.minimum(pooled_tx, self.block_capacity_tx)

    def block_size_mb(self, n_tx: ArrayLike) -> Any:
        """Size of a block carrying ``n_tx`` transactions (MB); headers are neglected."""
        return n_tx * self.tx_size_mb

    def proposal_start_s(self, round_start_s: ArrayLike, parent_proposed_s: ArrayLike) -> Any:
        """When round 0's proposer starts assembling: not before the minimum block interval."""
        return _maximum(round_start_s, parent_proposed_s + self.min_block_interval_s)

    def proposal_sent_s(self, start_s: ArrayLike) -> Any:
        """When a proposal started at ``start_s`` is sent: after the block's creation time."""
        return start_s + self.costs.create_block_s

    @property
    def round_timer_doublings(self) -> int:
        """How often the round timer may double: the cap under ``"doubling"``, 0 under ``"fixed"``."""
        return MAX_ROUND_TIMER_DOUBLINGS if self.round_timer == "doubling" else 0

    def round_timer_factor(self, round_: ArrayLike) -> Any:
        """How much longer than in round 0 the timers of round ``round_`` run: ``2^min(r, cap)``
        (1 under the fixed timer)."""
        cap = self.round_timer_doublings
        if isinstance(cap, int) and cap == 0:
            return 1  # a fixed timer: a plain 1 keeps the caller's dtype (the oracle's float32 times)
        return doubled(round_, cap)

    def round_timer_s(self, round_start_s: ArrayLike, round_: ArrayLike) -> Any:
        """When round ``round_``, started at ``round_start_s``, times out.

        The round timer of IBFT 2.0 (Saltini and Hyland-Wood, 2019): round r waits
        ``round_timeout_s * 2^r`` (capped, see :attr:`round_timer`), so rounds too slow
        for the timeout get longer until one commits, and the next height starts from
        round 0 again.
        """
        return round_start_s + self.round_timeout_s * self.round_timer_factor(round_)

    def commit_send_time_s(self, quorum_prepare_time_s: ArrayLike, round_start_s: ArrayLike,
                           round_: ArrayLike) -> Any:
        """When a node sends COMMIT in round ``round_`` under the protocol in force (see
        :class:`ProtocolRules`); the fast-path timeout grows with the round timer."""
        return self.rules.commit_send_time_s(quorum_prepare_time_s, round_start_s,
                                             self.fast_path_timeout_s * self.round_timer_factor(round_))

    # ------------------------------------------------------------------ message rules

    def message_size_mb(self, kind: MessageKind, block_mb: ArrayLike = 0.0) -> Any:
        """Size of a message of ``kind`` about a block of ``block_mb``: the PRE-PREPARE (and
        DPoS's BLOCK broadcast, a header of ``vote_size_mb`` plus the block) carries the
        block, and so do PREPARE and COMMIT under ``votes_carry_block``."""
        if kind in BLOCK_MESSAGES or (self.votes_carry_block and kind in _VOTES):
            return self.costs.vote_size_mb + block_mb
        return self.costs.vote_size_mb

    def link_bandwidth_mbps(self, sender_mbps: ArrayLike, receiver_mbps: ArrayLike) -> Any:
        """Bandwidth of a link under :attr:`bandwidth_model`."""
        if self.bandwidth_model == "slower":
            return np.minimum(sender_mbps, receiver_mbps)
        return sender_mbps

    def message_delay_s(
        self,
        kind: MessageKind,
        block_mb: ArrayLike,
        sender_mbps: ArrayLike,
        receiver_mbps: ArrayLike,
        propagation_s: ArrayLike,
        jitter_s: ArrayLike | None = None,
    ) -> Any:
        """Send-to-processed delay of a message of ``kind`` (s): transmission over the
        link, propagation, validation at the receiver, jitter. Broadcasts."""
        return message_delay_s(
            self.message_size_mb(kind, block_mb),
            self.link_bandwidth_mbps(sender_mbps, receiver_mbps),
            propagation_s,
            self.costs.validation_s(kind),
            jitter_s,
        )

    def tx_pool_delay_s(self, bandwidth_mbps: ArrayLike) -> NDArray[np.float64]:
        """How long after its submission at each validator a transaction is in every
        validator's pool (s), shape ``(M,)``, one per entry validator.

        The entry validator gossips it to every other validator like a message of
        ``tx_size_mb``: transmission at the link bandwidth plus propagation, without
        jitter, and no validation (a transaction is checked with the block that carries
        it); the latest arrival counts. ``bandwidth_mbps``: every node's bandwidth
        (MB/s), shape ``(K,)``. The chain's transaction stream enters the pools this way
        (:mod:`dtopt.consensus.arrivals`).
        """
        index = np.asarray(self.validator_index)
        bandwidth = np.asarray(bandwidth_mbps, dtype=float)
        link = self.link_bandwidth_mbps(bandwidth[index][:, None], bandwidth[index][None, :])
        delay = message_delay_s(self.tx_size_mb, link, self.validator_propagation_s, 0.0)
        np.fill_diagonal(delay, 0.0)  # in its entry validator's pool at once
        return delay.max(axis=1)

    def pre_prepare_transmission_s(self, delay_s: ArrayLike, propagation_s: ArrayLike) -> Any:
        """The inverse of the PRE-PREPARE delay: transmission plus jitter (s), given the
        observed delay from proposal to the receiver's PREPARE and the propagation."""
        return delay_s - propagation_s - self.costs.validation_s(MessageKind.PRE_PREPARE)

    def sync_delay_s(
        self, block_mb: Sequence[float], src_mbps: float, dst_mbps: float, there_s: float, back_s: float
    ) -> float:
        """Time for a node to fetch ``block_mb`` blocks from a peer: request, transfer of
        the PRE-PREPAREs at the link bandwidth, validation of every block (s)."""
        size = sum(self.message_size_mb(MessageKind.PRE_PREPARE, mb) for mb in block_mb)
        bandwidth = self.link_bandwidth_mbps(src_mbps, dst_mbps)
        return there_s + size / bandwidth + back_s + len(block_mb) * self.costs.validate_block_s

    # ------------------------------------------------------------------ run-time changes

    #: The fields a block may change at run time, and the other spellings accepted for them
    #: (a twin configuration's ``max_block_size_mb``).
    SWITCHABLE: ClassVar[tuple[str, ...]] = (
        "protocol", "max_block_mb", "min_block_interval_s", "round_timeout_s", "round_timer")
    SWITCH_ALIASES: ClassVar[dict[str, str]] = {"max_block_size_mb": "max_block_mb"}

    @property
    def min_message_delay_s(self) -> float:
        """The shortest a message can ever take from send to processed (s): a vote's
        validation plus the smallest propagation between two validators (transfer and
        jitter only add to it). A round timeout not above it can never see a commit."""
        prop = self.validator_propagation_s
        off_diagonal = prop[~np.eye(len(prop), dtype=bool)]
        return self.costs.validate_vote_s + (float(off_diagonal.min()) if off_diagonal.size else 0.0)

    @classmethod
    def switch_changes(cls, changes: dict[str, Any]) -> dict[str, Any]:
        """``changes`` with canonical keys (see :attr:`SWITCHABLE`); one-line DtoptError for an
        unknown key or one given twice under two spellings. Values are checked by :meth:`switched`."""
        out: dict[str, Any] = {}
        for key, value in changes.items():
            name = cls.SWITCH_ALIASES.get(key, key)
            if name not in cls.SWITCHABLE and name != "fast_path_timeout_s":
                raise DtoptError(
                    f"configuration change: unknown key {key!r}; choose among {', '.join(cls.SWITCHABLE)}"
                )
            if name in out:
                raise DtoptError(f"configuration change: {name} given twice")
            out[name] = value
        return out

    def switched(self, **changes: Any) -> ChainConfig:
        """The configuration after a run-time change (the one rule every node applies).

        ``changes`` holds any of :attr:`SWITCHABLE` (``max_block_size_mb`` is accepted for
        ``max_block_mb``) and ``fast_path_timeout_s``. When the round timeout changes and
        the fast-path timeout is not given, the fast-path timeout keeps its ratio to the
        round timeout (5 s / 10 s by default: a 4 s round timeout gives a 2 s fast path),
        so it stays below the round timeout. Refused with one line: an unknown key, a
        value the configuration rejects (a block below one transaction, a timeout <= 0),
        and a round timeout not longer than :attr:`min_message_delay_s` (no round could
        ever commit).
        """
        changes = self.switch_changes(changes)
        if "round_timeout_s" in changes:
            timeout = check_number("configuration change", "round_timeout_s", changes["round_timeout_s"],
                                   strict=True)
            if timeout <= self.min_message_delay_s:
                raise DtoptError(
                    f"configuration change: round timeout {timeout:g} s is not longer than one message "
                    f"delay ({self.min_message_delay_s:g} s): no round could ever commit"
                )
            changes["round_timeout_s"] = timeout
            if timeout != self.round_timeout_s:  # unchanged: no float noise in an equal configuration
                ratio = self.fast_path_timeout_s / self.round_timeout_s
                changes.setdefault("fast_path_timeout_s", timeout * ratio)
        return self.replace(**changes)
