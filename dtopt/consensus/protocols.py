"""The rules of IBFT, BigFoot and DPoS, stated once.

Both the message-level chain simulator (:mod:`dtopt.consensus.chain`) and the
twin's vectorised round oracle (:mod:`dtopt.twin.oracle`) read the protocols from
here, so the two can only disagree on *how* they simulate, never on *what* the
protocol does. The rules that read the chain's configuration (block filling,
timers, message sizes and delays) sit beside it in :mod:`dtopt.consensus.config`.

Every function that takes counts or times works elementwise on numpy arrays as
well as on Python scalars, so the event-driven chain calls it per node and the
oracle calls it on ``(replicas, nodes)`` arrays.

Units: seconds for time, megabytes (MB) for sizes, MB/s for bandwidth.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dtopt.errors import DtoptError

__all__ = [
    "BIGFOOT",
    "DPOS",
    "IBFT",
    "PROTOCOLS",
    "MessageCosts",
    "MessageKind",
    "ProtocolRules",
    "draw_jitter_s",
    "fault_tolerance",
    "get_protocol",
    "message_delay_s",
    "proposer_index",
    "quorum_size",
]


class MessageKind(str, Enum):  # noqa: UP042 (kept as the contract has it; StrEnum would change str())
    """The consensus messages. ``PRE_PREPARE`` and DPoS's ``BLOCK`` broadcast carry a block."""

    PRE_PREPARE = "PRE-PREPARE"
    PREPARE = "PREPARE"
    COMMIT = "COMMIT"
    ROUND_CHANGE = "ROUND-CHANGE"
    BLOCK = "BLOCK"


#: The messages that carry a block (and take a block's validation time).
BLOCK_MESSAGES: Final = frozenset({MessageKind.PRE_PREPARE, MessageKind.BLOCK})


def _scalar_or_array(value: NDArray) -> NDArray | float | bool:
    """A 0-d result back as a Python scalar, so the event-driven chain gets plain floats."""
    return value.item() if value.ndim == 0 else value


def fault_tolerance(n_validators: int) -> int:
    """Crash/Byzantine faults tolerated by ``n_validators``: f = floor((M - 1) / 3)."""
    if n_validators < 1:
        raise DtoptError(f"need at least one validator, got {n_validators}")
    return (n_validators - 1) // 3


def quorum_size(n_validators: int) -> int:
    """The BFT quorum 2f + 1 (used by PREPARE->COMMIT, COMMIT and ROUND-CHANGE)."""
    return 2 * fault_tolerance(n_validators) + 1


def proposer_index(height: int, round_: int, n_producers: int) -> int:
    """Index (into the block-producer list) of the proposer of ``(height, round)``.

    Rotates over the producers with both the height and the round, so a round
    change hands the proposal to the next producer.
    """
    return (height + round_) % n_producers


def draw_jitter_s(
    rng: np.random.Generator, mean_s: float, size: int | tuple[int, ...], dtype: type = np.float64
) -> NDArray[np.floating]:
    """Random per-message network jitter (s): exponential with mean ``mean_s``.

    The one jitter distribution of the project: ``mean_s = 0`` gives a perfectly
    steady network (all zeros). Draws ``size`` values of ``dtype`` (float64 or
    float32, the oracle's faster draw) from ``rng``.
    """
    return rng.standard_exponential(size, dtype=dtype) * dtype(mean_s)


@dataclass(frozen=True)
class MessageCosts:
    """Sizes and processing times of consensus messages.

    Defaults follow the BlockSim extension published with Diamantopoulos et al. (2023).

    Attributes
    ----------
    vote_size_mb : size of a PREPARE, COMMIT or ROUND-CHANGE message (MB).
    validate_vote_s : time for a node to validate a vote (s).
    validate_block_s : time for a node to validate a PRE-PREPARE's block (s).
    create_block_s : time for the proposer to assemble a block (s).
    """

    vote_size_mb: float = 0.2
    validate_vote_s: float = 0.1
    validate_block_s: float = 0.5
    create_block_s: float = 0.1

    def __post_init__(self) -> None:
        for name in ("vote_size_mb", "validate_vote_s", "validate_block_s", "create_block_s"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise DtoptError(f"{name} must be a finite number >= 0, got {value!r}")

    def validation_s(self, kind: MessageKind) -> float:
        """Time the receiver spends validating a message of ``kind``."""
        return self.validate_block_s if kind in BLOCK_MESSAGES else self.validate_vote_s


def message_delay_s(
    size_mb: ArrayLike,
    sender_bandwidth_mbps: ArrayLike,
    propagation_s: ArrayLike,
    validation_s: ArrayLike,
    jitter_s: ArrayLike | None = None,
) -> NDArray[np.float64] | float:
    """Delay from send to processed-at-receiver of one message (s).

    ``size / bandwidth(sender) + propagation(sender, receiver) + validation(receiver)``
    plus an optional random network jitter drawn by the caller. Broadcasts to
    every argument, so the oracle passes ``(replicas, senders, receivers)`` arrays;
    numbers or numpy arrays (not lists).
    """
    # plain operators: elementwise on numpy arrays, and no array conversion on the
    # Python floats of one chain message (the simulator's hot path)
    delay = size_mb / sender_bandwidth_mbps + propagation_s + validation_s
    return delay if jitter_s is None else delay + jitter_s


@dataclass(frozen=True)
class ProtocolRules:
    """What a protocol does: every quorum and the COMMIT-sending rule, stated once.

    The message-level chain and the round oracle both call these; a new protocol
    is added by writing its rules here. Timeouts are configuration, not protocol
    (:class:`~dtopt.consensus.config.ChainConfig`), and are passed in.

    Attributes
    ----------
    name : ``"IBFT"``, ``"BigFoot"`` or ``"DPoS"``.
    fast_path : whether a node may commit on PREPAREs alone, once it holds one from
        every validator (2 message delays instead of 3), falling back to the COMMIT
        phase after the fast-path timeout.
    slots : a delegated proof-of-stake chain instead of BFT rounds: elected delegates
        produce in a fixed slot schedule on the longest chain, and a block is final once
        :meth:`confirmation_quorum` delegates have produced on top of it (no votes, no
        rounds; the BFT quorums below do not apply). The schedule and the election are
        in :mod:`dtopt.consensus.delegates`.
    """

    name: str
    fast_path: bool
    slots: bool = False

    def fast_quorum(self, n_validators: int) -> int | None:
        """PREPAREs (own included) that commit at once: every validator; ``None`` without a fast path."""
        return n_validators if self.fast_path else None

    @staticmethod
    def prepare_quorum(n_validators: int) -> int:
        """PREPAREs (own included) a node needs before it may send its COMMIT: 2f + 1."""
        return quorum_size(n_validators)

    def commit_send_time_s(
        self, quorum_prepare_time_s: ArrayLike, round_start_s: ArrayLike, fast_path_timeout_s: ArrayLike
    ) -> NDArray[np.float64] | float:
        """When a node sends COMMIT, given when it reached the PREPARE quorum.

        IBFT sends at the quorum time; BigFoot at the later of the quorum time and
        the fast-path timeout after the round start (callers skip this for nodes
        that already committed on the fast path).
        """
        if not self.fast_path:
            return quorum_prepare_time_s
        return _scalar_or_array(np.maximum(np.asarray(quorum_prepare_time_s, dtype=float),
                                           np.asarray(round_start_s, dtype=float) + fast_path_timeout_s))

    @staticmethod
    def commit_quorum(n_validators: int) -> int:
        """COMMITs (own included) that commit the block: 2f + 1."""
        return quorum_size(n_validators)

    @staticmethod
    def round_change_quorum(n_validators: int) -> int:
        """ROUND-CHANGEs that move a node to the next round: 2f + 1."""
        return quorum_size(n_validators)

    @staticmethod
    def round_skip_quorum(n_validators: int) -> int:
        """ROUND-CHANGEs for a higher round that make a node jump to it: f + 1.

        At least one of f + 1 senders is correct, so the round change is real; this
        re-synchronises nodes whose round timers drifted apart.
        """
        return fault_tolerance(n_validators) + 1

    @staticmethod
    def block_finality_quorum(n_validators: int) -> int:
        """A block's commit time is when this many validators have committed it.

        It is then final for every client (2f + 1 commits can never be undone), so
        transaction latency is measured to this moment. Chain and oracle both use it.
        """
        return quorum_size(n_validators)

    @staticmethod
    def confirmation_quorum(n_delegates: int) -> int:
        """DPoS's last-irreversible-block rule: a block is final once this many distinct
        delegates, more than two thirds of the ``n_delegates``, have produced on top of it."""
        if n_delegates < 1:
            raise DtoptError(f"need at least one delegate, got {n_delegates}")
        return 2 * n_delegates // 3 + 1


IBFT: Final = ProtocolRules(name="IBFT", fast_path=False)
BIGFOOT: Final = ProtocolRules(name="BigFoot", fast_path=True)
DPOS: Final = ProtocolRules(name="DPoS", fast_path=False, slots=True)
PROTOCOLS: Final[dict[str, ProtocolRules]] = {p.name: p for p in (IBFT, BIGFOOT, DPOS)}


def get_protocol(name: str | ProtocolRules) -> ProtocolRules:
    """Look a protocol up by name (case-insensitive); one-line DtoptError for unknown names."""
    if isinstance(name, ProtocolRules):
        return name
    for key, rules in PROTOCOLS.items():
        if key.lower() == str(name).lower():
            return rules
    raise DtoptError(f"unknown protocol {name!r}; choose one of: {', '.join(PROTOCOLS)}")
