"""A GraphSAGE encoder of the social graph, trained self-supervised to reconstruct friendships.

The friends job uses it, and so does the communities job with ``--embedding sage``: node
embeddings ``z`` come from two GraphSAGE layers (mean aggregation) over friendships and
interactions, with each node's input being a learnable vector plus (when present) a projection
of its text embedding.  Training
predicts friendships with a dot-product decoder against random negatives; every epoch
hides the friendships it is scored on from message passing, so the encoder cannot
read the answer off its own input.

Given held-out friendships (:class:`LinkValidation`), training stops once the dot product's
recall of them has not improved for ``patience`` checks, and keeps the best check's weights, so
``epochs`` is a ceiling and the graph chooses how many it needs.

Graphs beyond ``EncoderConfig.full_batch_max_nodes`` nodes train on mini-batches instead: each
step embeds only the nodes of a batch of pairs, from neighbours sampled per layer
(:class:`jobs.gnn.sampling.NeighbourSampler`), so its memory depends on the batch and the fan-outs;
the final embeddings are then computed over the whole graph once, without gradients.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from jobs.common.ranking import csr_from_pairs, mask_known, ranking_metrics, top_k
from jobs.gnn.sampling import NeighbourSampler
from jobs.gnn.social import SocialGraph
from jobs.gnn.sparse import Propagation, mean_propagation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncoderConfig:
    """Hyper-parameters of :class:`SocialEncoder` and its training."""

    epochs: int = 150
    lr: float = 0.01
    weight_decay: float = 1e-5
    hidden: int = 64
    dim: int = 64
    use_text: bool = True
    supervised_share: float = 0.3
    negatives: int = 2
    full_batch_max_nodes: int = 1_000_000
    batch_pairs: int = 1024
    fanouts: tuple[int, int] = (10, 5)
    check_every: int = 25
    check_every_batches: int = 100
    patience: int = 2
    min_gain: float = 0.01

    def mini_batches(self, num_nodes: int) -> bool:
        """Returns whether a graph of ``num_nodes`` trains on mini-batches (beyond ``full_batch_max_nodes``).

        The default threshold is where full-batch training stops fitting in the project
        machine's memory (per-node memory: ``bench/RESULTS.md``, Scaling);
        ``full_batch_max_nodes=0`` forces mini-batches.
        """
        return num_nodes > self.full_batch_max_nodes


@dataclass
class LinkValidation:
    """Held-out friendships that training is stopped on: the encoder's dot product alone ranks
    every user for a sample of the users who have one, and the recall@k of the held-out friends
    is the score.

    Args:
        held_out: ``[2, H]`` user pairs hidden from training.
        known: ``[2, M]`` user pairs training sees; they are never counted as found.
        num_users: U.
        k: suggestions per user.
        users: the most query users sampled.
        seed: of the sample.

    Attributes:
        history: ``(steps, recall)`` of every check, after ``steps`` optimisation steps (one per
            epoch in full-batch training, one per batch with mini-batches).
        kept: ``(steps, recall)`` of the check whose weights training kept, None before any.
    """

    held_out: torch.Tensor
    known: torch.Tensor
    num_users: int
    k: int = 20
    users: int = 1000
    seed: int = 0
    history: list[tuple[int, float]] = field(default_factory=list)
    kept: tuple[int, float] | None = None

    def __post_init__(self) -> None:
        src, dst = torch.cat([self.held_out, self.held_out.flip(0)], dim=1).numpy()
        queries = np.unique(src)
        if len(queries) > self.users:
            queries = np.sort(np.random.default_rng(self.seed).choice(queries, self.users, replace=False))
        self.queries = torch.from_numpy(queries)
        line = np.full(self.num_users, -1, dtype=np.int64)
        line[queries] = np.arange(len(queries))
        keep = line[src] >= 0
        self._truth = csr_from_pairs(line[src[keep]], dst[keep], len(queries))
        k_src, k_dst = torch.cat([self.known, self.known.flip(0)], dim=1).numpy()
        keep = line[k_src] >= 0
        self._masked = csr_from_pairs(
            np.concatenate([line[k_src[keep]], np.arange(len(queries))]), np.concatenate([k_dst[keep], queries]), len(queries)
        )

    def recall(self, z: torch.Tensor, steps: int, budget: int = 2**24) -> float:
        """Scores user embeddings ``z`` (``[U, D]``) after ``steps`` optimisation steps, ``budget``
        scores at a time, and records the figure in :attr:`history`.

        Returns:
            The mean over query users of the share of their held-out friends in their top k.
        """
        step = max(1, budget // max(self.num_users, 1))
        tops = []
        for start in range(0, len(self.queries), step):
            scores = z[self.queries[start : start + step]] @ z.T
            mask_known(scores, start, *self._masked)
            tops.append(top_k(scores, self.k)[1].numpy())
        lines = np.arange(len(self.queries))
        predicted = np.concatenate(tops) if tops else np.empty((0, self.k), dtype=np.int64)
        recall = ranking_metrics(predicted, *self._truth, lines, self.k)[f"recall@{self.k}"]
        self.history.append((steps, recall))
        return recall


class MeanSAGE(nn.Module):
    """A GraphSAGE layer with mean aggregation: ``W_l · mean(neighbours) + b + W_r · x``.

    The layer of PyG's ``SAGEConv(aggr="mean")``, with its parameters, but aggregating through a
    :class:`jobs.gnn.sparse.Propagation` whose backward pass reuses a precomputed transpose (faster
    per layer on CPU, see :mod:`jobs.gnn.sparse`).
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.lin_l = nn.Linear(in_channels, out_channels)
        self.lin_r = nn.Linear(in_channels, out_channels, bias=False)

    def forward(self, x: torch.Tensor, propagation: Propagation) -> torch.Tensor:
        """Returns ``[N, out_channels]`` given ``x`` ``[N, in_channels]``."""
        return self.combine(propagation(x), x)

    def combine(self, neighbours: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Returns ``[B, out_channels]`` from the neighbours' mean ``[B, in_channels]`` and the nodes' own ``x`` ``[B, in_channels]``."""
        return self.lin_l(neighbours) + self.lin_r(x)


class SocialEncoder(nn.Module):
    """Embeds the ``N`` nodes of a social graph into ``[N, dim]``.

    Args:
        num_nodes: N.
        text_dim: size F of the text embeddings, or None to learn from structure alone.
        hidden: width of the input projection and of the first layer.
        dim: output width.
        sparse: give the node vectors sparse gradients (mini-batch training), so that a step
            touches only the rows of its batch instead of all N.
    """

    def __init__(self, num_nodes: int, text_dim: int | None, hidden: int = 64, dim: int = 64, sparse: bool = False) -> None:
        super().__init__()
        self.node = nn.Embedding(num_nodes, hidden, sparse=sparse)
        nn.init.normal_(self.node.weight, std=0.1)
        self.text = nn.Linear(text_dim, hidden) if text_dim else None
        self.conv1 = MeanSAGE(hidden, hidden)
        self.conv2 = MeanSAGE(hidden, dim)

    def inputs(self, nodes: torch.Tensor | None, x: torch.Tensor | None) -> torch.Tensor:
        """Returns the first layer's input of ``nodes`` (``[B]``; None for all N): ``[B or N, hidden]``."""
        h = self.node.weight if nodes is None else self.node(nodes)
        if self.text is not None and x is not None:
            h = h + self.text(x if nodes is None else x[nodes])
        return h

    def forward(self, propagation: Propagation, x: torch.Tensor | None = None) -> torch.Tensor:
        """Returns ``z`` ``[N, dim]`` given the graph's :class:`Propagation` and text features ``x`` ``[N, F]``."""
        h = F.relu(self.conv1(self.inputs(None, x), propagation))
        return self.conv2(h, propagation)

    def embed_sampled(
        self, nodes: torch.Tensor, sampler: NeighbourSampler, x: torch.Tensor | None,
        fanouts: tuple[int, int], generator: torch.Generator,
    ) -> torch.Tensor:
        """Returns ``z`` ``[B, dim]`` of ``nodes`` (``[B]``, on the CPU) from sampled neighbourhoods.

        Each node's first-layer mean is taken over ``fanouts[0]`` neighbours drawn with
        replacement, and each of those neighbours' over ``fanouts[1]`` of theirs: an unbiased
        estimate of the full-graph layer, which a node without neighbours gets as zero there too.
        """
        device = self.node.weight.device
        first, has_first = sampler.sample(nodes, fanouts[0], generator)
        level = torch.cat([nodes, first.reshape(-1)])
        second, has_second = sampler.sample(level, fanouts[1], generator)
        # Nodes recur across the sampled trees: project each one's input once.
        distinct, where = torch.unique(torch.cat([level, second.reshape(-1)]), return_inverse=True)
        h0 = self.inputs(distinct.to(device), x)
        where = where.to(device)
        neighbours = h0[where[len(level) :]].view(len(level), fanouts[1], -1).mean(dim=1)
        h = F.relu(self.conv1.combine(neighbours * has_second[:, None].to(device), h0[where[: len(level)]]))
        b = len(nodes)
        neighbours = h[b:].view(b, fanouts[0], -1).mean(dim=1) * has_first[:, None].to(device)
        return self.conv2.combine(neighbours, h[:b])


def _negatives(pos: torch.Tensor, num_users: int, ratio: int, generator: torch.Generator) -> torch.Tensor:
    src = pos[0].repeat(ratio)
    dst = torch.randint(0, num_users, (src.numel(),), generator=generator)
    return torch.stack([src, dst])


def _link_loss(z: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """Returns the binary cross-entropy of dot-product logits: ``pos`` pairs as friends, ``neg`` as not (rows of ``z``)."""
    pos_logit = (z[pos[0]] * z[pos[1]]).sum(-1)
    neg_logit = (z[neg[0]] * z[neg[1]]).sum(-1)
    return F.binary_cross_entropy_with_logits(pos_logit, torch.ones_like(pos_logit)) + F.binary_cross_entropy_with_logits(
        neg_logit, torch.zeros_like(neg_logit)
    )


def _step(optimizers: list[torch.optim.Optimizer], loss: torch.Tensor) -> float:
    """Takes one optimisation step on ``loss`` with every optimizer; returns the loss's value."""
    for optimizer in optimizers:
        optimizer.zero_grad()
    loss.backward()
    for optimizer in optimizers:
        optimizer.step()
    return loss.item()


def _mini_batch_losses(
    model: SocialEncoder, optimizers: list[torch.optim.Optimizer], sampler: NeighbourSampler, x: torch.Tensor | None,
    pos: torch.Tensor, hard: torch.Tensor | None, num_users: int, config: EncoderConfig, generator: torch.Generator,
) -> Iterator[float]:
    """Steps once per batch of ``config.batch_pairs`` pairs of ``pos`` (``[2, P]``), in a random
    order; ``hard`` negatives are spread over the batches.

    Yields:
        Each batch's loss, after its step.
    """
    order = torch.randperm(pos.shape[1], generator=generator)
    batches = order.split(config.batch_pairs)
    hard_parts = (
        hard[:, torch.randperm(hard.shape[1], generator=generator)].tensor_split(len(batches), dim=1)
        if hard is not None else [None] * len(batches)
    )
    device = model.node.weight.device
    for batch, hard_part in zip(batches, hard_parts):
        batch_pos = pos[:, batch]
        neg = _negatives(batch_pos, num_users, config.negatives, generator)
        if hard_part is not None:
            neg = torch.cat([neg, hard_part], dim=1)
        nodes, local = torch.unique(torch.cat([batch_pos, neg], dim=1), return_inverse=True)
        z = model.embed_sampled(nodes, sampler, x, config.fanouts, generator)
        local = local.to(device)
        yield _step(optimizers, _link_loss(z, local[:, : batch_pos.shape[1]], local[:, batch_pos.shape[1] :]))


@dataclass
class _EarlyStopping:
    """Checks held-out recall every ``every`` steps and keeps the best check's weights."""

    validation: LinkValidation | None
    every: int
    patience: int
    min_gain: float
    steps: int = 0
    stale: int = 0
    best_state: dict[str, torch.Tensor] | None = None

    def after_step(self, model: SocialEncoder, embed: Callable[[], torch.Tensor]) -> bool:
        """Counts one step and checks when one is due; returns whether training should stop."""
        self.steps += 1
        validation = self.validation
        if validation is None or self.steps % self.every:
            return False
        recall = validation.recall(embed(), self.steps)
        log.info("encoder step %d: held-out recall@%d %.4f", self.steps, validation.k, recall)
        if validation.kept is None or recall > validation.kept[1] * (1 + self.min_gain):
            self.best_state, self.stale, validation.kept = copy.deepcopy(model.state_dict()), 0, (self.steps, recall)
            return False
        self.stale += 1
        return self.stale >= self.patience


def train_encoder(
    graph: SocialGraph,
    friendships: torch.Tensor,
    config: EncoderConfig,
    generator: torch.Generator,
    device: torch.device,
    on_epoch: Callable[[int, float], None] | None = None,
    hard_negatives: torch.Tensor | None = None,
    validation: LinkValidation | None = None,
) -> tuple[SocialEncoder, torch.Tensor]:
    """Trains an encoder to predict ``friendships`` (``[2, M]`` user pairs).

    ``hard_negatives`` (``[2, H]`` user pairs, e.g. suggestions people ignored) join the
    random negatives of every epoch.  With ``validation``, the held-out recall is measured every
    ``config.check_every`` epochs (every ``config.check_every_batches`` steps with mini-batches);
    training stops after ``config.patience`` checks without a relative gain of
    ``config.min_gain`` over the best, and the best check's weights are kept.

    Returns:
        The trained encoder and the final node embeddings ``z`` ``[N, dim]`` (on the CPU),
        computed with every friendship in ``friendships`` visible.
    """
    use_text = config.use_text and graph.x is not None
    mini_batches = config.mini_batches(graph.num_nodes)
    model = SocialEncoder(graph.num_nodes, graph.x.shape[1] if use_text else None, config.hidden, config.dim, sparse=mini_batches)
    model = model.to(device)
    x = graph.x.to(device) if use_text else None
    # Decoupled weight decay (AdamW): Adam's L2 term joins the gradient, and the larger the graph
    # the smaller each node vector's share of the mean loss, so the decay would weigh more against
    # what the vector learns (measured by bench.encoder_curve).
    if mini_batches:
        log.info("%d nodes: training on mini-batches of %d pairs, fan-outs %s", graph.num_nodes, config.batch_pairs, config.fanouts)
        # SparseAdam updates only the node vectors a batch used; it has no weight decay.
        dense = [p for name, p in model.named_parameters() if name != "node.weight"]
        optimizers: list[torch.optim.Optimizer] = [
            torch.optim.SparseAdam([model.node.weight], lr=config.lr),
            torch.optim.AdamW(dense, lr=config.lr, weight_decay=config.weight_decay),
        ]
    else:
        optimizers = [torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)]
    m = friendships.shape[1]
    hard = None
    if hard_negatives is not None and hard_negatives.numel():
        hard = torch.cat([hard_negatives, hard_negatives.flip(0)], dim=1)
    everything = mean_propagation(graph.message_edges(friendships), graph.num_nodes, device)
    stopping = _EarlyStopping(
        validation, config.check_every_batches if mini_batches else config.check_every, config.patience, config.min_gain
    )

    def users_z() -> torch.Tensor:
        return _embed(model, everything, x)[: graph.num_users]

    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(m, generator=generator)
        n_sup = max(1, int(m * config.supervised_share))
        supervised, visible = friendships[:, order[:n_sup]], friendships[:, order[n_sup:]]
        pos = torch.cat([supervised, supervised.flip(0)], dim=1)
        stop, losses = False, []
        if mini_batches:
            sampler = NeighbourSampler(graph.message_edges(visible), graph.num_nodes)
            for loss_value in _mini_batch_losses(model, optimizers, sampler, x, pos, hard, graph.num_users, config, generator):
                losses.append(loss_value)
                if stopping.after_step(model, users_z):
                    stop = True
                    break
                model.train()
        else:
            z = model(mean_propagation(graph.message_edges(visible), graph.num_nodes, device), x)
            neg = _negatives(pos, graph.num_users, config.negatives, generator)
            if hard is not None:
                neg = torch.cat([neg, hard], dim=1)
            losses.append(_step(optimizers, _link_loss(z, pos, neg)))
            stop = stopping.after_step(model, users_z)
        if on_epoch is not None:
            on_epoch(epoch, sum(losses) / max(len(losses), 1))
        if stop:
            break
    if stopping.best_state is not None:
        model.load_state_dict(stopping.best_state)
    return model, _embed(model, everything, x)


def _embed(model: SocialEncoder, propagation: Propagation, x: torch.Tensor | None) -> torch.Tensor:
    """Returns ``z`` ``[N, dim]`` on the CPU, in evaluation mode and without gradients."""
    model.eval()
    with torch.no_grad():
        return model(propagation, x).cpu()
