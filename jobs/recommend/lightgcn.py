"""LightGCN fused with text embeddings, trained with BPR: the model behind the recommend job.

Users and posts are one homogeneous graph of ``num_users + num_items`` nodes (users first);
an interaction is an undirected edge.  Propagation multiplies by the symmetrically normalised
adjacency ``D^-1/2 A D^-1/2`` held as a ``torch.sparse_csr`` tensor (measured faster than
``edge_index`` message passing on CPU) -- the product the ``LGConv`` layers of
:class:`torch_geometric.nn.models.LightGCN` compute, with a backward pass that reuses the
symmetric matrix (faster backward on CPU, and deterministic; ``docs/history/benchmarks.md``).

Cold start: a node's layer-0 representation is its LightGCN id embedding plus a learned linear
projection of its text embedding (384-d post text, profile vector for users).  A node with no
training interaction has an id embedding that was never trained, so it is zeroed: such a post,
or a user with a bio and no interaction, is represented by its text projection alone and still
gets a score.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch_geometric.nn.models import LightGCN

from graph.arrays import row_pointers, unique_pairs
from jobs.common.ranking import mask_known, top_k
from jobs.gnn.sparse import SparseMatmul

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Interactions:
    """Training pairs ``(users[e], items[e])`` as row indices, with the sizes of both sides.

    Attributes:
        users, items: ``[E]`` int64, unique pairs.
        user_x, item_x: ``[num_users, F]`` / ``[num_items, F]`` float32 text features (zero rows
            where a node has none), or None when the side has no text at all.
    """

    users: np.ndarray
    items: np.ndarray
    num_users: int
    num_items: int
    user_x: torch.Tensor | None = None
    item_x: torch.Tensor | None = None

    @staticmethod
    def unique(users: np.ndarray, items: np.ndarray, num_users: int, num_items: int, **features) -> "Interactions":
        """Returns the interactions with duplicate pairs removed (several kinds of one pair are one edge)."""
        return Interactions(*unique_pairs(users, items, num_items), num_users, num_items, **features)

    def popularity(self) -> np.ndarray:
        """Returns ``[num_items]`` int64 interaction counts."""
        return np.bincount(self.items, minlength=self.num_items)


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters (the Gowalla curve in ``bench/RESULTS.md`` states the ones it used).

    ``id_dropout`` hides that share of the id embeddings of nodes with text at each step, so the
    text projection learns to stand in for them (DropoutNet); it is off on a side without text.
    """

    dim: int = 64
    layers: int = 3
    epochs: int = 30
    batch_size: int = 8192
    lr: float = 5e-3
    weight_decay: float = 1e-4
    seed: int = 0
    use_text: bool = True
    id_dropout: float = 0.3
    min_steps_per_epoch: int = 16


def normalized_adjacency(data: Interactions) -> torch.Tensor:
    """Returns ``D^-1/2 A D^-1/2`` of the bipartite graph as a ``[N, N]`` float32 ``sparse_csr`` tensor.

    ``N = num_users + num_items``; item ``i`` is node ``num_users + i``.  Isolated nodes get a self-loop.
    """
    n = data.num_users + data.num_items
    src = np.concatenate([data.users, data.items + data.num_users])
    dst = np.concatenate([data.items + data.num_users, data.users])
    # An isolated node keeps itself at every layer (a self-loop of weight 1), so its final
    # representation is its full layer-0 input rather than alpha_0 of it: a post known only by
    # its text is then on the same scale as the posts it competes with.
    isolated = np.flatnonzero(np.bincount(src, minlength=n) == 0)
    src, dst = np.concatenate([src, isolated]), np.concatenate([dst, isolated])
    degree = np.bincount(src, minlength=n).astype(np.float64)
    inv_sqrt = degree ** -0.5
    order = np.lexsort((dst, src))
    src, dst = src[order], dst[order]
    values = torch.from_numpy((inv_sqrt[src] * inv_sqrt[dst]).astype(np.float32))
    return torch.sparse_csr_tensor(
        torch.from_numpy(row_pointers(src, n)), torch.from_numpy(dst.astype(np.int64)), values, size=(n, n),
        check_invariants=False,
    )


class TextLightGCN(nn.Module):
    """LightGCN whose layer-0 input is ``id embedding · trained + W_user·text_user | W_item·text_item``.

    The id embeddings and layer weights ``alpha`` are those of a PyG ``LightGCN``; propagation
    uses :class:`jobs.gnn.sparse.SparseMatmul` (with ``adj`` as its own transpose) in place of its
    ``LGConv`` layers (the same product).

    Args:
        num_users, num_items: node counts.
        trained: ``[num_users + num_items]`` bool, the nodes with a training interaction.
        user_dim, item_dim: text feature sizes, or 0 for no text on that side.
    """

    def __init__(self, num_users: int, num_items: int, trained: torch.Tensor, dim: int, layers: int,
                 user_dim: int = 0, item_dim: int = 0) -> None:
        super().__init__()
        self.num_users, self.num_items = num_users, num_items
        self.lightgcn = LightGCN(num_users + num_items, dim, layers, normalize=False)
        self.register_buffer("trained", trained.to(torch.float32).unsqueeze(1))
        self.user_proj = nn.Linear(user_dim, dim, bias=False) if user_dim else None
        self.item_proj = nn.Linear(item_dim, dim, bias=False) if item_dim else None
        # Text starts small so that early training is driven by the graph, as in plain LightGCN.
        for proj in (self.user_proj, self.item_proj):
            if proj is not None:
                nn.init.normal_(proj.weight, std=0.01)

    def ego(self, user_x: torch.Tensor | None, item_x: torch.Tensor | None,
            id_keep: torch.Tensor | None = None) -> torch.Tensor:
        """Returns the layer-0 representations ``[N, dim]``; ``id_keep`` ``[N, 1]`` masks id embeddings."""
        x = self.lightgcn.embedding.weight * (self.trained if id_keep is None else self.trained * id_keep)
        parts = []
        if self.user_proj is not None and user_x is not None:
            parts.append((slice(0, self.num_users), self.user_proj(user_x)))
        if self.item_proj is not None and item_x is not None:
            parts.append((slice(self.num_users, None), self.item_proj(item_x)))
        if not parts:
            return x
        text = torch.zeros_like(x)
        for rows, value in parts:
            text[rows] = value
        return x + text

    def forward(self, adj: torch.Tensor, user_x: torch.Tensor | None, item_x: torch.Tensor | None,
                id_keep: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(final [N, dim], ego [N, dim])``: the layer-weighted sum and the layer-0 input."""
        ego = self.ego(user_x, item_x, id_keep)
        alpha = self.lightgcn.alpha
        x, out = ego, ego * alpha[0]
        for i in range(self.lightgcn.num_layers):
            x = SparseMatmul.apply(adj, adj, x)
            out = out + x * alpha[i + 1]
        return out, ego

    def split(self, final: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(users [num_users, dim], items [num_items, dim])`` of a ``[N, dim]`` tensor."""
        return final[: self.num_users], final[self.num_users :]


def sample_negatives(users: torch.Tensor, num_items: int, known: torch.Tensor, generator: torch.Generator,
                     rounds: int = 10) -> torch.Tensor:
    """Returns ``[B]`` int64 items drawn uniformly, redrawn (up to ``rounds`` times) where ``user`` knows them.

    ``known`` is the sorted ``[E]`` int64 tensor of ``user * num_items + item`` codes.
    """
    negatives = torch.randint(num_items, users.shape, generator=generator)
    for _ in range(rounds):
        code = users * num_items + negatives
        pos = torch.searchsorted(known, code).clamp_(max=known.numel() - 1)
        clash = known[pos] == code
        if not bool(clash.any()):
            break
        negatives[clash] = torch.randint(num_items, (int(clash.sum()),), generator=generator)
    return negatives


@dataclass
class Trained:
    """A trained model with what is needed to score, and the loss of every epoch."""

    model: TextLightGCN
    adj: torch.Tensor
    user_x: torch.Tensor | None
    item_x: torch.Tensor | None
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @torch.no_grad()
    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(users [num_users, dim], items [num_items, dim])`` on the model's device."""
        self.model.eval()
        final, _ = self.model(self.adj, self.user_x, self.item_x)
        return self.model.split(final)


def _has_text(x: torch.Tensor | None, n: int) -> torch.Tensor:
    return torch.zeros(n, dtype=torch.bool) if x is None else (x.abs().sum(1) > 0).cpu()


def _id_keep(droppable: torch.Tensor, rate: float, generator: torch.Generator, device: torch.device
             ) -> torch.Tensor | None:
    """Returns ``[N, 1]`` float: 0 for a seeded ``rate`` of the nodes with text, 1 elsewhere; None when off.

    Hiding id embeddings of nodes that have text makes the text projection learn to stand in for
    them, which is what serves posts and users with no interaction (the DropoutNet idea).
    """
    if rate <= 0 or not bool(droppable.any()):
        return None
    drop = (torch.rand(droppable.shape, generator=generator) < rate) & droppable
    return (~drop).to(torch.float32).unsqueeze(1).to(device)


def bpr_loss(
    final: torch.Tensor, ego: torch.Tensor, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor, weight_decay: float
) -> torch.Tensor:
    """Returns the scalar BPR loss of a batch, ``mean(softplus(s(u, neg) - s(u, pos))) + weight_decay * reg``.

    Args:
        final: ``[N, D]`` propagated embeddings; ``ego``: ``[N, D]`` their layer-0 inputs.
        users, positives, negatives: ``[B]`` node rows (items already offset by the user count).
    """
    pos_score = (final[users] * final[positives]).sum(-1)
    neg_score = (final[users] * final[negatives]).sum(-1)
    # The LightGCN paper's regulariser: L2 of the batch's layer-0 inputs, per example.
    reg = (ego[users].square().sum() + ego[positives].square().sum() + ego[negatives].square().sum()) / (2 * users.numel())
    return nn.functional.softplus(neg_score - pos_score).mean() + weight_decay * reg


def train(data: Interactions, config: TrainConfig, device: torch.device,
          on_epoch: Callable[[int, float, "Trained"], None] | None = None) -> Trained:
    """Trains :class:`TextLightGCN` with BPR on ``data`` for ``config.epochs`` epochs.

    An epoch is one pass over a seeded permutation of the training pairs in batches of
    ``config.batch_size``, each with one uniform negative item; every batch propagates the
    full graph.  On a small graph the batches shrink (not below 1,024 pairs) so that an epoch
    still takes ``config.min_steps_per_epoch`` steps: with the default batch the 2,000-user demo
    graph got two steps per epoch, and its recommendations were mostly the popular posts
    (coverage 0.06, against 0.40 with more steps).  ``on_epoch(epoch, mean_loss, trained)``
    runs after each epoch.

    Returns:
        The :class:`Trained` model, its per-epoch mean losses and the training seconds.
    """
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    trained_nodes = torch.zeros(data.num_users + data.num_items, dtype=torch.bool)
    trained_nodes[torch.from_numpy(data.users)] = True
    trained_nodes[torch.from_numpy(data.items + data.num_users)] = True
    user_x = data.user_x.to(device) if config.use_text and data.user_x is not None else None
    item_x = data.item_x.to(device) if config.use_text and data.item_x is not None else None
    model = TextLightGCN(
        data.num_users, data.num_items, trained_nodes, config.dim, config.layers,
        user_x.shape[1] if user_x is not None else 0, item_x.shape[1] if item_x is not None else 0,
    ).to(device)
    adj = normalized_adjacency(data).to(device)
    droppable = torch.cat([_has_text(user_x, data.num_users), _has_text(item_x, data.num_items)])
    result = Trained(model, adj, user_x, item_x)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    users = torch.from_numpy(data.users)
    items = torch.from_numpy(data.items)
    known = torch.from_numpy(np.sort(data.users * data.num_items + data.items))
    step = min(config.batch_size, max(1024, -(-users.numel() // config.min_steps_per_epoch)))
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(users.numel(), generator=generator)
        total, batches = 0.0, 0
        for lo in range(0, order.numel(), step):
            batch = order[lo : lo + step]
            u, pos = users[batch], items[batch]
            neg = sample_negatives(u, data.num_items, known, generator)
            u, pos, neg = u.to(device), pos.to(device) + data.num_users, neg.to(device) + data.num_users
            final, ego = model(adj, user_x, item_x, _id_keep(droppable, config.id_dropout, generator, device))
            loss = bpr_loss(final, ego, u, pos, neg, config.weight_decay)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
            batches += 1
        result.losses.append(total / max(batches, 1))
        result.seconds = time.perf_counter() - start
        log.debug("epoch %d loss %.4f (%.1f s)", epoch, result.losses[-1], result.seconds)
        if on_epoch is not None:
            on_epoch(epoch, result.losses[-1], result)
    return result


def csr_rows(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Returns ``(indptr [len(rows) + 1], indices)``: the CSR sub-matrix of ``rows``, in their order."""
    counts = indptr[rows + 1] - indptr[rows]
    sub_indptr = np.zeros(rows.size + 1, dtype=np.int64)
    np.cumsum(counts, out=sub_indptr[1:])
    positions = np.repeat(indptr[rows] - sub_indptr[:-1], counts) + np.arange(sub_indptr[-1])
    return sub_indptr, indices[positions]


@torch.no_grad()
def recommend(user_emb: torch.Tensor, item_emb: torch.Tensor, known_indptr: np.ndarray, known_indices: np.ndarray,
              k: int, users: np.ndarray | None = None, chunk: int = 1024,
              item_mask: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scores every item for ``users`` (default all) in chunks of ``chunk`` users, known items masked.

    Args:
        known_indptr, known_indices: each user's known items as CSR over all users.
        item_mask: ``[num_items]`` bool, items that may be recommended (None: all).

    Returns:
        ``(scores [len(users), k] float32, items [len(users), k] int64)``, best first; ``-1`` items
        (score ``-inf``) where fewer than ``k`` items were allowed.
    """
    users = np.arange(user_emb.shape[0]) if users is None else users
    k = min(k, item_emb.shape[0])
    all_scores, all_items = [], []
    for lo in range(0, users.size, chunk):
        rows = users[lo : lo + chunk]
        scores = (user_emb[torch.from_numpy(rows).to(user_emb.device)] @ item_emb.T).float().cpu()
        mask_known(scores, 0, *csr_rows(known_indptr, known_indices, rows))
        if item_mask is not None:
            scores[:, ~item_mask.cpu()] = float("-inf")
        values, index = top_k(scores, k)
        index[torch.isinf(values)] = -1
        all_scores.append(values.numpy())
        all_items.append(index.numpy())
    if not all_scores:
        return np.zeros((0, k), dtype=np.float32), np.zeros((0, k), dtype=np.int64)
    return np.concatenate(all_scores), np.concatenate(all_items)
