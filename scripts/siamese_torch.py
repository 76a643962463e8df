"""The app's networks, methods, optimizers and augmentations in PyTorch, under the app's parameter names.

One module shared by the benchmark's reference step (scripts/pytorch_step.py) and the PyTorch project
the app exports (train.py copies it next to itself). Only PyTorch and the standard library are used.
"""
import collections
import itertools
import json
import math
import struct

import torch
import torch.distributed as dist
import torch.nn.functional as F

INPUT_MEAN = (0.4914, 0.4822, 0.4465)
INPUT_STD = (0.247, 0.243, 0.261)
GRAY_WEIGHTS = (0.299, 0.587, 0.114)
RGB_TO_YIQ = ((0.299, 0.587, 0.114), (0.595716, -0.274453, -0.321263), (0.211456, -0.522591, 0.311135))
MASKED_LOGIT = -1e9
CROP_ATTEMPTS = 10


class InputError(Exception):
    """Bad input: reported as a one-line message and exit status 2."""


# ---------------------------------------------------------------------------------------------
# Layers. Each keeps the app's parameter names and roles ('weight' | 'bias' | 'norm') so shapes can
# be compared name by name with the TypeScript side, and the optimizers can exclude what the app does.
# ---------------------------------------------------------------------------------------------

class AppParam:
    def __init__(self, name, role, tensor, app_shape):
        self.name, self.role, self.tensor, self.app_shape = name, role, tensor, list(app_shape)


class Layer(torch.nn.Module):
    def app_params(self):
        return []

    def app_buffers(self):
        return []


class Sequence(Layer):
    def __init__(self, layers):
        super().__init__()
        self.layers = torch.nn.ModuleList(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def app_params(self):
        return [p for layer in self.layers for p in layer.app_params()]

    def app_buffers(self):
        return [b for layer in self.layers for b in layer.app_buffers()]


class Lambda(Layer):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def same_padding(size, kernel, stride):
    """TensorFlow's 'same': output ceil(size / stride), the odd pixel of padding at the end."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class Conv(Layer):
    """nn.ts conv2d: no bias, Kaiming-normal fan-out init, tfjs 'same' padding."""

    def __init__(self, name, in_channels, out_channels, kernel, stride=1):
        super().__init__()
        self.name, self.kernel, self.stride = name, kernel, stride
        std = math.sqrt(2 / (kernel * kernel * out_channels))
        self.weight = torch.nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel) * std)
        self.app_shape = [kernel, kernel, in_channels, out_channels]

    def forward(self, x):
        top, bottom = same_padding(x.shape[2], self.kernel, self.stride)
        left, right = same_padding(x.shape[3], self.kernel, self.stride)
        if top == bottom and left == right:
            return F.conv2d(x, self.weight, stride=self.stride, padding=(top, left))
        # Stride 2 on an even size pads only after the image in tfjs; torch's padding is symmetric.
        return F.conv2d(F.pad(x, (left, right, top, bottom)), self.weight, stride=self.stride)

    def app_params(self):
        return [AppParam(f"{self.name}/kernel", "weight", self.weight, self.app_shape)]


def dense_matmul(kind):
    """x @ Wᵀ (+ b). Debian's torch links the unoptimised reference (netlib) BLAS, so F.linear is
    far slower than a torch with MKL or OpenBLAS; a 1×1 convolution does the same product through
    oneDNN's optimised kernels. 'blas' keeps F.linear to measure the difference."""
    if kind == "blas":
        return F.linear

    def through_onednn(x, weight, bias=None):
        rows, inner = x.shape
        out = F.conv2d(x.reshape(rows, inner, 1, 1), weight.reshape(weight.shape[0], inner, 1, 1), bias)
        return out.reshape(rows, weight.shape[0])

    return through_onednn


class Dense(Layer):
    """nn.ts dense: U(±1/√in) for weight and bias, as torch.nn.Linear."""

    def __init__(self, name, in_features, out_features, bias, matmul):
        super().__init__()
        self.name, self.matmul = name, matmul
        bound = 1 / math.sqrt(in_features)
        self.weight = torch.nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        self.bias = torch.nn.Parameter(torch.empty(out_features).uniform_(-bound, bound)) if bias else None

    def forward(self, x):
        return self.matmul(x, self.weight, self.bias)

    def app_params(self):
        out_features, in_features = self.weight.shape
        params = [AppParam(f"{self.name}/kernel", "weight", self.weight, [in_features, out_features])]
        if self.bias is not None:
            params.append(AppParam(f"{self.name}/bias", "bias", self.bias, [out_features]))
        return params


class BatchNorm(Layer):
    """nn.ts batchNorm: momentum 0.1, ε 1e-5, unbiased running variance (PyTorch's own)."""

    def __init__(self, name, channels, spatial, affine=True):
        super().__init__()
        self.name = name
        kind = torch.nn.BatchNorm2d if spatial else torch.nn.BatchNorm1d
        self.norm = kind(channels, eps=1e-5, momentum=0.1, affine=affine)

    def forward(self, x):
        if self.training and distributed():
            return global_batch_norm(x, self.norm)
        return self.norm(x)

    def app_params(self):
        if not self.norm.affine:
            return []
        c = self.norm.num_features
        return [AppParam(f"{self.name}/gamma", "norm", self.norm.weight, [c]), AppParam(f"{self.name}/beta", "norm", self.norm.bias, [c])]

    def app_buffers(self):
        c = self.norm.num_features
        return [
            AppParam(f"{self.name}/moving_mean", "norm", self.norm.running_mean, [c]),
            AppParam(f"{self.name}/moving_variance", "norm", self.norm.running_var, [c]),
        ]


def relu():
    return Lambda(F.relu)


class BasicBlock(Layer):
    def __init__(self, name, in_channels, out_channels, stride):
        super().__init__()
        self.main = Sequence([
            Conv(f"{name}/conv1", in_channels, out_channels, 3, stride),
            BatchNorm(f"{name}/bn1", out_channels, spatial=True),
            relu(),
            Conv(f"{name}/conv2", out_channels, out_channels, 3),
            BatchNorm(f"{name}/bn2", out_channels, spatial=True),
        ])
        needs_projection = stride != 1 or in_channels != out_channels
        self.shortcut = Sequence([
            Conv(f"{name}/shortcut", in_channels, out_channels, 1, stride),
            BatchNorm(f"{name}/shortcut_bn", out_channels, spatial=True),
        ]) if needs_projection else None

    def forward(self, x):
        return F.relu(self.main(x) + (self.shortcut(x) if self.shortcut is not None else x))

    def app_params(self):
        return self.main.app_params() + (self.shortcut.app_params() if self.shortcut is not None else [])

    def app_buffers(self):
        return self.main.app_buffers() + (self.shortcut.app_buffers() if self.shortcut is not None else [])


def global_average_pool():
    return Lambda(lambda x: x.mean(dim=(2, 3)))


def conv_net(widths, name):
    layers, channels = [], 3
    for i, width in enumerate(widths):
        layers += [Conv(f"{name}/conv{i}", channels, width, 3), BatchNorm(f"{name}/bn{i}", width, spatial=True), relu()]
        if i < len(widths) - 1:
            layers.append(Lambda(lambda x: F.max_pool2d(x, 2, 2)))
        channels = width
    return Sequence(layers + [global_average_pool()])


def cifar_resnet(widths, blocks, name):
    if len(widths) != len(blocks):
        raise InputError("ResNet widths and blocks must have the same length")
    layers = [Conv(f"{name}/stem", 3, widths[0], 3), BatchNorm(f"{name}/stem_bn", widths[0], spatial=True), relu()]
    channels = widths[0]
    for stage, width in enumerate(widths):
        for b in range(blocks[stage]):
            stride = 2 if stage > 0 and b == 0 else 1
            layers.append(BasicBlock(f"{name}/stage{stage}/block{b}", channels, width, stride))
            channels = width
    return Sequence(layers + [global_average_pool()])


def create_backbone(config, name):
    kind = config.get("kind")
    if kind == "convnet":
        return conv_net(config["widths"], name), config["widths"][-1]
    if kind == "resnet":
        return cifar_resnet(config["widths"], config["blocks"], name), config["widths"][-1]
    raise InputError(f'Unknown backbone kind "{kind}"; expected "convnet" or "resnet"')


def create_mlp(config, in_dim, name, matmul):
    """heads.ts createMlp: hidden Linear → BN → ReLU (bias only without BN), last Linear, optional last BN."""
    hidden, out = config["hidden"], config["out"]
    last_norm = config.get("lastNorm", "none")
    hidden_norm = config.get("hiddenNorm", True)
    last_bias = config.get("lastBias", True)
    if last_norm not in ("none", "plain", "affine"):
        raise InputError(f'Unknown lastNorm "{last_norm}"')
    layers, width = [], in_dim
    for i, h in enumerate(hidden):
        layers.append(Dense(f"{name}/fc{i}", width, h, not hidden_norm, matmul))
        if hidden_norm:
            layers.append(BatchNorm(f"{name}/bn{i}", h, spatial=False))
        layers.append(relu())
        width = h
    layers.append(Dense(f"{name}/fc{len(hidden)}", width, out, last_bias and last_norm == "none", matmul))
    if last_norm != "none":
        layers.append(BatchNorm(f"{name}/bn{len(hidden)}", out, spatial=False, affine=last_norm == "affine"))
    return Sequence(layers)


class ProjectedEncoder(Layer):
    def __init__(self, config, name, matmul):
        super().__init__()
        self.backbone, feature_dim = create_backbone(config["backbone"], f"{name}/backbone")
        self.projector = create_mlp(config["projector"], feature_dim, f"{name}/projector", matmul)

    def forward(self, x):
        return self.projector(self.backbone(x))

    def app_params(self):
        return self.backbone.app_params() + self.projector.app_params()

    def app_buffers(self):
        return self.backbone.app_buffers() + self.projector.app_buffers()


# ---------------------------------------------------------------------------------------------
# Methods: the networks, the loss and what happens after the optimizer step.
# ---------------------------------------------------------------------------------------------

def byol_loss(p, z):
    """losses.ts byolLoss: mean of 2 − 2·cos(p, z); z is the (gradient-free) target."""
    return (2 - 2 * (F.normalize(p, dim=-1) * F.normalize(z, dim=-1)).sum(-1)).mean()


def nt_xent_loss(z1, z2, temperature, matmul):
    """losses.ts ntXentLoss: each of the 2N views picks its partner among the 2N − 1 others.

    Across processes (solo-learn's simclr_loss_func) each process scores its own 2n views against
    the 2N gathered from all of them, gathered with gradient, so the mean over processes is the
    loss of the global batch. The global order is [z1 of every process, z2 of every process]."""
    n = z1.shape[0]
    q1, q2 = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
    k1, k2 = gather_with_grad(q1), gather_with_grad(q2)
    total = k1.shape[0]
    logits = matmul(torch.cat([q1, q2]), torch.cat([k1, k2])) / temperature
    rows = torch.arange(n, device=z1.device) + n * rank()
    own = torch.cat([rows, rows + total])
    partners = torch.cat([rows + total, rows])
    logits = logits.masked_fill(F.one_hot(own, 2 * total).bool(), MASKED_LOGIT)
    return F.cross_entropy(logits, partners)


def cosine_tau(base_tau, step, total_steps):
    progress = min(max(step / max(total_steps, 1), 0), 1)
    return 1 - (1 - base_tau) * (math.cos(math.pi * progress) + 1) / 2


def warmup_cosine_lr(step, total_steps, base_lr, warmup_steps, final_lr=0.0):
    """schedules.ts warmupCosineLr."""
    if warmup_steps > 0 and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    span = max(total_steps - warmup_steps, 1)
    progress = min(max((step - warmup_steps) / span, 0), 1)
    return final_lr + (base_lr - final_lr) * (1 + math.cos(math.pi * progress)) / 2


class Method(torch.nn.Module):
    """A method's networks as one module: forward(v1, v2, extra) is the loss, so DistributedDataParallel
    can wrap it whole. `extra` holds the batch's per-image inputs besides the views: "indices" (dataset
    index, NPID), "labels" (class, SupCon, MoBYv2AL; None on MoBYv2AL's unlabelled batches), "rotations"
    ([n, 2] quarter turns of each view, RotNet), "weak_view" (MoBYv2AL's labelled batches) and what a
    method draws besides (`random_inputs`: the patch tasks' neighbours, permutations and offsets), and
    one per-step input shared by the whole batch: "negatives" (the `negatives_per_step` bank rows NPID
    scores against, drawn by the caller).
    `params` are the trainable AppParams in the app's order; `encoder` is the online backbone the kNN
    monitor and the exported encoder use. State that is neither parameter nor BatchNorm statistic
    (queues, memory banks, running matrices) is kept in buffers listed by `state_buffers`, in the order
    of the app's MethodInstance.state, and travels in the weights as "state/0", "state/1", …;
    `resizable_state` names the tensors whose rows follow the dataset (NPID's bank, Exemplar CNN's classifier)."""

    state_buffers = ()
    resizable_state = ()
    negatives_per_step = 0
    # Trained on labelled and unlabelled batches in turn (MoBYv2AL): some parameters get no gradient on some steps.
    semi_supervised = False

    def app_tensors(self):
        """Every parameter and buffer of every network, each once, in the app's module order, then the method's state."""
        seen, out = set(), []
        for module in self.networks():
            for p in module.app_params() + module.app_buffers():
                if id(p.tensor) not in seen:
                    seen.add(id(p.tensor))
                    out.append(p)
        for i, name in enumerate(self.state_buffers):
            tensor = getattr(self, name)
            out.append(AppParam(f"state/{i}", "state", tensor, tensor.shape))
        return out

    def after_step(self, step):
        pass

    def random_inputs(self, n, gen):
        """The method's own random draws for n images in training, as `extra` entries (the app draws them in its loss)."""
        return {}


def momentum_tau(config, step):
    """The step's τ: the cosine schedule from config.tau to 1, or config.tau throughout."""
    return cosine_tau(config["tau"], step, config["totalSteps"]) if config.get("tauSchedule") else config["tau"]


@torch.no_grad()
def ema_update(online, target, tau):
    """ema.ts emaUpdate: target ← τ·target + (1 − τ)·online over parameters (BN statistics are the target's own)."""
    online = [p.tensor for p in online.app_params()]
    target = [p.tensor for p in target.app_params()]
    torch._foreach_mul_(target, tau)
    torch._foreach_add_(target, online, alpha=1 - tau)


def momentum_copy(online, config, name, matmul):
    """shared.ts createMomentumCopy: a separate network holding the online weights, never trained directly."""
    target = ProjectedEncoder(config, name, matmul)
    target.load_state_dict(online.state_dict())
    for p in target.parameters():
        p.requires_grad_(False)
    return target


def random_unit_rows(rows, dim):
    return F.normalize(torch.randn(rows, dim), dim=-1)


@torch.no_grad()
def enqueue(queue, keys):
    """shared.ts KeyQueue.enqueue: the oldest key is row 0; the batch's keys go last, the oldest drop out."""
    queue.copy_(torch.cat([queue, keys.to(queue.dtype)])[-queue.shape[0]:])


def add_online_predictor_target(method, config, matmul):
    """BYOL's and MoBY's networks: an online encoder with its projector, a predictor, and a momentum copy of the online encoder."""
    method.online = ProjectedEncoder(config, "online", matmul)
    method.predictor = create_mlp(config["predictor"], config["projector"]["out"], "predictor", matmul)
    method.target = momentum_copy(method.online, config, "target", matmul)
    method.encoder = method.online.backbone
    method.parts = {"backbone": method.online.backbone, "projector": method.online.projector, "predictor": method.predictor}
    method.params = method.online.app_params() + method.predictor.app_params()


class Byol(Method):
    """methods/byol.ts: online encoder + predictor, EMA target, symmetric loss."""

    def __init__(self, config, matmul):
        super().__init__()
        if not config.get("predictor"):
            raise InputError("BYOL needs a predictor head (config.predictor is null)")
        self.config = config
        add_online_predictor_target(self, config, matmul)

    def networks(self):
        return [self.online, self.predictor, self.target]

    def forward(self, v1, v2, extra=None):
        z1, z2 = self.online(v1), self.online(v2)
        p1, p2 = self.predictor(z1), self.predictor(z2)
        # The app runs the target inside the tape too, but no gradient path leads into it.
        with torch.no_grad():
            t1, t2 = self.target(v1), self.target(v2)
        return byol_loss(p1, t2) + byol_loss(p2, t1)

    def after_step(self, step):
        ema_update(self.online, self.target, momentum_tau(self.config, step))


class SimClr(Method):
    """methods/simclr.ts: one encoder for both views, NT-Xent."""

    def __init__(self, config, matmul):
        super().__init__()
        self.config, self.matmul = config, matmul
        self.simclr = ProjectedEncoder(config, "simclr", matmul)
        self.encoder = self.simclr.backbone
        self.parts = {"backbone": self.simclr.backbone, "projector": self.simclr.projector}
        self.params = self.simclr.app_params()

    def networks(self):
        return [self.simclr]

    def forward(self, v1, v2, extra=None):
        return nt_xent_loss(self.simclr(v1), self.simclr(v2), self.config["temperature"], self.matmul)


def simsiam_loss(p, z, stop_gradient):
    """losses.ts simSiamLoss: −mean cos(p, z), z detached unless the ablation turns that off."""
    z = z.detach() if stop_gradient else z
    return -(F.normalize(p, dim=-1) * F.normalize(z, dim=-1)).sum(-1).mean()


def standardize_along_batch(z):
    """BatchNorm without affine: biased variance, ε = 1e-5."""
    return (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + 1e-5)


def barlow_twins_loss(z1, z2, lam, matmul):
    """losses.ts barlowTwinsTerms: Σ(1 − c_ii)² + λ Σ_{i≠j} c_ij², c the cross-correlation of the
    standardised embeddings over the global batch (rows gathered from every process, with gradient)."""
    z1, z2 = gather_with_grad(z1), gather_with_grad(z2)
    n, d = z1.shape
    c = matmul(standardize_along_batch(z1).T, standardize_along_batch(z2).T) / n
    eye = torch.eye(d, device=c.device)
    on_diagonal = ((1 - torch.diagonal(c)) ** 2).sum()
    off_diagonal = lam * ((c * c) * (1 - eye)).sum()
    return on_diagonal, off_diagonal


def vicreg_terms(z1, z2, matmul):
    """losses.ts vicregTerms over the global batch (gathered with gradient): invariance (MSE),
    variance (mean ReLU(1 − √(var + 1e-4)) / 2 per branch), covariance (Σ off-diagonal² / d per branch)."""
    z1, z2 = gather_with_grad(z1), gather_with_grad(z2)
    n, d = z1.shape
    invariance = F.mse_loss(z1, z2)
    variance, covariance = 0, 0
    eye = torch.eye(d, device=z1.device)
    for z in (z1, z2):
        centred = z - z.mean(0)
        var = (centred * centred).sum(0) / (n - 1)
        variance = variance + F.relu(1 - torch.sqrt(var + 1e-4)).mean() / 2
        cov = matmul(centred.T, centred.T) / (n - 1)
        covariance = covariance + ((cov * cov) * (1 - eye)).sum() / d
    return invariance, variance, covariance


class SingleEncoder(Method):
    """One encoder and projector for both views (SimSiam adds a predictor); `prefix` names them as the app does."""

    def __init__(self, config, matmul, prefix, predictor=False):
        super().__init__()
        self.config, self.matmul = config, matmul
        self.options = config["options"]
        self.net = ProjectedEncoder(config, prefix, matmul)
        self.encoder = self.net.backbone
        self.parts = {"backbone": self.net.backbone, "projector": self.net.projector}
        self.params = self.net.app_params()
        self.heads = []
        if predictor:
            if not config.get("predictor"):
                raise InputError(f"{config['method']} needs a predictor head (config.predictor is null)")
            self.predictor = create_mlp(config["predictor"], config["projector"]["out"], "predictor", matmul)
            self.heads = [self.predictor]
            self.parts["predictor"] = self.predictor
            self.params = self.params + self.predictor.app_params()

    def networks(self):
        return [self.net] + self.heads


class SimSiam(SingleEncoder):
    """methods/simsiam.ts: predictor on both views, symmetric negative cosine, stop-gradient on the projection."""

    def __init__(self, config, matmul):
        super().__init__(config, matmul, "simsiam", predictor=True)

    def forward(self, v1, v2, extra=None):
        z1, z2 = self.net(v1), self.net(v2)
        p1, p2 = self.predictor(z1), self.predictor(z2)
        stop = self.options["stopGradient"] == 1
        return (simsiam_loss(p1, z2, stop) + simsiam_loss(p2, z1, stop)) / 2


class BarlowTwins(SingleEncoder):
    """methods/barlow.ts: scale · (on-diagonal + λ · off-diagonal) of the cross-correlation."""

    def __init__(self, config, matmul):
        super().__init__(config, matmul, "barlow")

    def forward(self, v1, v2, extra=None):
        on_diagonal, off_diagonal = barlow_twins_loss(self.net(v1), self.net(v2), self.options["lambda"], self.matmul)
        return self.options["scale"] * (on_diagonal + off_diagonal)


class Vicreg(SingleEncoder):
    """methods/vicreg.ts: weighted invariance, variance and covariance terms."""

    def __init__(self, config, matmul):
        super().__init__(config, matmul, "vicreg")

    def forward(self, v1, v2, extra=None):
        invariance, variance, covariance = vicreg_terms(self.net(v1), self.net(v2), self.matmul)
        o = self.options
        return o["invarianceWeight"] * invariance + o["varianceWeight"] * variance + o["covarianceWeight"] * covariance


def info_nce_loss(q, k, queue, temperature, matmul):
    """losses.ts infoNCELoss: logits [q·k, q·queueᵀ] / T with the positive first; k and the queue get no gradient."""
    qn = F.normalize(q, dim=-1)
    kn = F.normalize(k, dim=-1).detach()
    logits = torch.cat([(qn * kn).sum(-1, keepdim=True), matmul(qn, queue)], 1) / temperature
    return F.cross_entropy(logits, torch.zeros(q.shape[0], dtype=torch.long, device=q.device))


class QueueMethod(Method):
    """Key queues as buffers "queue0", "queue1", … (MoCo, MoBY). The step's keys are enqueued after the
    optimizer step, gathered from every process in rank order (solo-learn's gather), so every process
    holds the same queues and they fill as one process's would with the global batch."""

    def add_queues(self, count, size, dim):
        self.state_buffers = tuple(f"queue{i}" for i in range(count))
        for name in self.state_buffers:
            self.register_buffer(name, random_unit_rows(size, dim))
        self.pending_keys = []

    def queue(self, i):
        return getattr(self, self.state_buffers[i])

    @torch.no_grad()
    def enqueue_pending(self):
        for i, keys in enumerate(self.pending_keys):
            enqueue(self.queue(i), gather(keys))
        self.pending_keys = []


class MocoV2(QueueMethod):
    """methods/mocov2.ts: query encoder, momentum key encoder, InfoNCE against a queue of earlier keys;
    symmetric (MoCo v2+, one queue per view, the mean of both directions) or one direction, one queue."""

    def __init__(self, config, matmul):
        super().__init__()
        self.config, self.matmul = config, matmul
        options = config["options"]
        self.symmetric = options["symmetric"] == 1
        self.query = ProjectedEncoder(config, "query", matmul)
        self.key = momentum_copy(self.query, config, "key", matmul)
        self.add_queues(2 if self.symmetric else 1, options["queueSize"], config["projector"]["out"])
        self.encoder = self.query.backbone
        self.parts = {"backbone": self.query.backbone, "projector": self.query.projector}
        self.params = self.query.app_params()

    def networks(self):
        return [self.query, self.key]

    def forward(self, v1, v2, extra=None):
        t = self.config["temperature"]
        q1 = self.query(v1)
        with torch.no_grad():
            k2 = F.normalize(self.key(v2), dim=-1)
        loss = info_nce_loss(q1, k2, self.queue(1 if self.symmetric else 0), t, self.matmul)
        keys = [k2]
        if self.symmetric:
            q2 = self.query(v2)
            with torch.no_grad():
                k1 = F.normalize(self.key(v1), dim=-1)
            loss = (loss + info_nce_loss(q2, k1, self.queue(0), t, self.matmul)) / 2
            keys = [k1, k2]
        self.pending_keys = keys
        return loss

    def after_step(self, step):
        self.enqueue_pending()
        ema_update(self.query, self.key, momentum_tau(self.config, step))


class Moby(QueueMethod):
    """methods/moby.ts: BYOL's online encoder + predictor and EMA target, InfoNCE of each view's
    prediction against the other view's target key and that view's queue, both directions summed."""

    def __init__(self, config, matmul):
        super().__init__()
        if not config.get("predictor"):
            raise InputError("MoBY needs a predictor head (config.predictor is null)")
        self.config, self.matmul = config, matmul
        add_online_predictor_target(self, config, matmul)
        self.add_queues(2, config["options"]["queueSize"], config["projector"]["out"])

    def networks(self):
        return [self.online, self.predictor, self.target]

    def forward(self, v1, v2, extra=None):
        t = self.config["temperature"]
        z1, z2 = self.online(v1), self.online(v2)
        p1, p2 = self.predictor(z1), self.predictor(z2)
        with torch.no_grad():
            k1, k2 = F.normalize(self.target(v1), dim=-1), F.normalize(self.target(v2), dim=-1)
        self.pending_keys = [k1, k2]
        return info_nce_loss(p1, k2, self.queue(1), t, self.matmul) + info_nce_loss(p2, k1, self.queue(0), t, self.matmul)

    def after_step(self, step):
        self.enqueue_pending()
        ema_update(self.online, self.target, momentum_tau(self.config, step))


def supcon_loss(z1, z2, labels, temperature, form, matmul):
    """losses.ts supConLoss (contrast mode "all"): each of the 2N views against the 2N − 1 others, its
    positives every other view of the same class; "out" averages the positives' log-probabilities,
    "in" takes the log of their mean probability. Across processes as nt_xent_loss: local anchors,
    rows and labels of every process gathered (rows with gradient)."""
    n = z1.shape[0]
    q = torch.cat([F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)])
    k1, k2 = gather_with_grad(q[:n]), gather_with_grad(q[n:])
    all_labels = gather(labels)
    total = k1.shape[0]
    rows = torch.arange(n, device=z1.device) + n * rank()
    own = torch.cat([rows, rows + total])
    self_mask = F.one_hot(own, 2 * total).bool()
    logits = (matmul(q, torch.cat([k1, k2])) / temperature).masked_fill(self_mask, MASKED_LOGIT)
    log_prob = F.log_softmax(logits, dim=1)
    anchor_labels = torch.cat([labels, labels])
    view_labels = torch.cat([all_labels, all_labels])
    positives = (anchor_labels[:, None] == view_labels[None, :]) & ~self_mask
    count = positives.sum(1)
    if form == "out":
        per_anchor = (log_prob * positives).sum(1) / count
    else:
        per_anchor = torch.logsumexp(log_prob.masked_fill(~positives, MASKED_LOGIT), dim=1) - torch.log(count.to(log_prob.dtype))
    return -per_anchor.mean()


SUPCON_FORMS = ("out", "in")


class SupCon(SingleEncoder):
    """methods/supcon.ts: SimCLR with labels, every view of the same class a positive."""

    def __init__(self, config, matmul):
        super().__init__(config, matmul, "supcon")
        self.form = SUPCON_FORMS[int(self.options["form"])]

    def forward(self, v1, v2, extra=None):
        if extra is None or extra.get("labels") is None:
            raise InputError("SupCon is supervised: every image needs a class label (train on an image folder with one subfolder per class)")
        z1 = self.net(v1)
        z2 = self.net(v2)
        return supcon_loss(z1, z2, extra["labels"], self.config["temperature"], self.form, self.matmul)


class Npid(SingleEncoder):
    """methods/npid.ts: a memory bank of one unit feature per image; the loss is cross-entropy of
    ẑ·bankᵀ / T with the image's own row as the class (the full softmax), or with `negatives` > 0
    InfoNCE of ẑ against its own row and the step's sampled rows (extra["negatives"], one draw shared by
    the batch, as the app draws it); after the step the rows of the batch's images move towards their
    new features (momentum) and are re-normalised. Only the first view is used. Across processes it
    follows lemniscate.pytorch's DataParallel run (NCEAverage once on the gathered batch: one draw of
    negatives and one bank update for the global batch), not its DistributedDataParallel branch, where
    every process keeps and updates a bank of its own: the features and indices are gathered, so every
    process updates the same bank the same way, and every process scores against the same sampled rows
    (the caller draws them from one generator seeded alike on every process)."""

    state_buffers = ("bank",)
    resizable_state = ("state/0",)

    def __init__(self, config, matmul, dataset_size):
        super().__init__(config, matmul, "npid")
        if not dataset_size:
            raise InputError("NPID's memory bank needs the number of training images")
        self.register_buffer("bank", random_unit_rows(dataset_size, config["projector"]["out"]))
        self.negatives_per_step = int(self.options["negatives"])
        self.pending = None

    def forward(self, v1, v2, extra=None):
        if extra is None or extra.get("indices") is None:
            raise InputError("NPID needs each image's dataset index")
        indices = extra["indices"]
        z = F.normalize(self.net(v1), dim=-1)
        self.pending = (z.detach(), indices)
        if self.negatives_per_step > 0:
            if extra.get("negatives") is None:
                raise InputError(f"NPID with {self.negatives_per_step} sampled negatives needs the step's bank rows (extra[\"negatives\"])")
            return info_nce_loss(z, self.bank[indices], self.bank[extra["negatives"]], self.config["temperature"], self.matmul)
        logits = self.matmul(z, self.bank) / self.config["temperature"]
        return F.cross_entropy(logits, indices)

    @torch.no_grad()
    def after_step(self, step):
        features, indices = gather(self.pending[0]), gather(self.pending[1])
        self.pending = None
        n = indices.shape[0]
        # An image twice in a batch: every copy writes the row of its last occurrence, as the app does.
        same_image = indices[:, None] == indices[None, :]
        last = (same_image.long() * torch.arange(1, n + 1, device=indices.device)).argmax(1)
        rows = indices[last]
        m = self.options["bankMomentum"]
        self.bank[rows] = F.normalize(self.bank[rows] * m + features[last] * (1 - m), dim=-1)


class MobyV2Al(Moby):
    """methods/mobyv2al.ts: MoBY plus a linear task classifier on the online backbone's features. A
    labelled batch's loss is the classifier's cross-entropy on its weak view plus mobyWeight × MoBY's
    loss on the two strong views; an unlabelled batch's (labels None, no weak view) is the MoBY term
    alone. With mobyWeight 0 only labelled batches are trained, by cross-entropy alone, and nothing is
    enqueued; the target still follows the online encoder. The classifier's rows follow the classes of
    the image folder (`resizable_state`)."""

    semi_supervised = True
    resizable_state = ("classifier/kernel", "classifier/bias")
    # mobyv2al.ts WEAK_VIEW: the classifier's view, a random crop (scale 0.5–1) and a horizontal flip.
    weak_view = {
        "crop": {"scale": [0.5, 1], "ratio": [3 / 4, 4 / 3]}, "flipProbability": 0.5, "colorJitter": None,
        "grayscaleProbability": 0, "blur": None, "solarizeProbability": 0,
    }

    def __init__(self, config, matmul, num_classes):
        super().__init__(config, matmul)
        self.moby_weight = config["options"]["mobyWeight"]
        self.labels_only = self.moby_weight == 0
        feature_dim = config["backbone"]["widths"][-1]
        self.classifier = Dense("classifier", feature_dim, max(num_classes, 1), True, matmul)
        self.parts["classifier"] = self.classifier
        self.params = self.params + self.classifier.app_params()

    def networks(self):
        return super().networks() + [self.classifier]

    def forward(self, v1, v2, extra=None):
        weak = extra.get("weak_view") if extra else None
        classification = None
        if weak is not None:
            if extra.get("labels") is None:
                raise InputError("MoBYv2AL's labelled batch needs the images' labels")
            classification = F.cross_entropy(self.classifier(self.online.backbone(weak)), extra["labels"])
        if self.labels_only:
            if classification is None:
                raise InputError("MoBYv2AL with MoBY weight 0 trains on labelled batches only, and this batch has no labels")
            return classification
        self_supervised = self.moby_weight * super().forward(v1, v2, extra)
        return self_supervised if classification is None else classification + self_supervised


class UniGrad(Method):
    """methods/unigrad.ts: the surrogate ½[(sg(g₁)·ẑ₁) + (sg(g₂)·ẑ₂)] with g₁ = −ẑ₂ᵐ + λ ẑ₁F, F the running
    correlation of the momentum embeddings (ρ; the first batch alone initialises it), updated with the
    current batch before the loss uses it. Across processes F's batch term is over the gathered global batch."""

    state_buffers = ("correlation", "correlation_ready")

    def __init__(self, config, matmul):
        super().__init__()
        self.config, self.matmul = config, matmul
        options = config["options"]
        self.lam, self.rho = options["lambda"], options["rho"]
        self.online = ProjectedEncoder(config, "online", matmul)
        self.target = momentum_copy(self.online, config, "momentum", matmul)
        d = config["projector"]["out"]
        self.register_buffer("correlation", torch.zeros(d, d))
        self.register_buffer("correlation_ready", torch.zeros(()))
        self.encoder = self.online.backbone
        self.parts = {"backbone": self.online.backbone, "projector": self.online.projector}
        self.params = self.online.app_params()
        self.pending = None

    def networks(self):
        return [self.online, self.target]

    def forward(self, v1, v2, extra=None):
        z1, z2 = self.online(v1), self.online(v2)
        with torch.no_grad():
            a_m, b_m = F.normalize(self.target(v1), dim=-1), F.normalize(self.target(v2), dim=-1)
            ga, gb = gather(a_m), gather(b_m)
            batch_correlation = (ga.T @ ga + gb.T @ gb) / (2 * ga.shape[0])
            keep = self.correlation_ready * self.rho
            correlation = keep * self.correlation + (1 - keep) * batch_correlation
        self.pending = correlation
        a, b = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
        g1 = (-b_m + self.lam * (a @ correlation)).detach()
        g2 = (-a_m + self.lam * (b @ correlation)).detach()
        return 0.5 * ((g1 * a).sum(-1).mean() + (g2 * b).sum(-1).mean())

    @torch.no_grad()
    def after_step(self, step):
        self.correlation.copy_(self.pending)
        self.correlation_ready.fill_(1)
        self.pending = None
        ema_update(self.online, self.target, momentum_tau(self.config, step))


ROTATIONS = 4


def rotate_quarter_turns(images, turns):
    """rotation.ts rotateQuarterTurns on NCHW: each square image turned counter-clockwise by its own number of quarter turns."""
    out = torch.zeros_like(images)
    for k in range(ROTATIONS):
        chosen = (turns == k).to(images.dtype)[:, None, None, None]
        out = out + torch.rot90(images, k, dims=(2, 3)) * chosen
    return out


class Rotation(Method):
    """methods/rotation.ts (RotNet): each image of both views turned by its own quarter turns, one batch
    of 2N through the backbone, a classifier on the features names the turn (cross-entropy)."""

    def __init__(self, config, matmul):
        super().__init__()
        self.config = config
        self.backbone, feature_dim = create_backbone(config["backbone"], "rotation/backbone")
        self.classifier = create_mlp(config["projector"], feature_dim, "rotation/classifier", matmul)
        if config["projector"]["out"] != ROTATIONS:
            raise InputError(f"Rotation prediction needs a head with {ROTATIONS} outputs, got {config['projector']['out']}")
        self.encoder = self.backbone
        self.parts = {"backbone": self.backbone, "classifier": self.classifier}
        self.params = self.backbone.app_params() + self.classifier.app_params()

    def networks(self):
        return [self.backbone, self.classifier]

    def random_inputs(self, n, gen):
        return {"rotations": torch.randint(0, ROTATIONS, (n, 2), generator=gen)}

    def forward(self, v1, v2, extra=None):
        if extra is None or extra.get("rotations") is None:
            raise InputError("rotation prediction needs each view's quarter turns")
        turns = extra["rotations"]
        rotated = torch.cat([rotate_quarter_turns(v1, turns[:, 0]), rotate_quarter_turns(v2, turns[:, 1])])
        logits = self.classifier(self.backbone(rotated))
        return F.cross_entropy(logits, torch.cat([turns[:, 0], turns[:, 1]]))


# ---------------------------------------------------------------------------------------------
# Pretext tasks on patches and holes: context prediction, the jigsaw puzzle (both cut a 3×3 grid,
# patch-grid.ts), Exemplar CNN and inpainting. What the app draws from its generator in the loss
# (neighbours, permutations, offsets) comes in `extra`: the app's own draws in --check-parity, draws
# from train.py's per-process generator (`random_inputs`) in training.
# ---------------------------------------------------------------------------------------------

GRID_CELLS, CENTRE_CELL, NEIGHBOURS = 9, 4, 8
PatchGrid = collections.namedtuple("PatchGrid", "patch pitch jitter origin")


def patch_grid(image_size):
    """patch-grid.ts patchGrid: a quarter-side patch, a pixel of jitter per 32 px, cells as far apart as fits, centred."""
    patch, jitter = image_size // 4, image_size // 32
    pitch = (image_size - patch - 2 * jitter) // 2
    if patch < 2 or pitch <= patch:
        raise InputError(f"A 3×3 grid of patches with gaps between them needs images of at least 8 px, got {image_size} px.")
    return PatchGrid(patch, pitch, jitter, (image_size - patch - 2 * pitch) // 2)


def smallest_input_size(backbone):
    """backbones.ts smallestInputSize: the ConvNet halves its map between stages."""
    return 2 ** (len(backbone["widths"]) - 1) if backbone["kind"] == "convnet" else 1


def cell_corners(grid, cells, offsets):
    """patch-grid.ts cellCorner for tensors: cells [...], offsets [..., 2] (dy, dx) → corners [..., 2] (row, column)."""
    unjittered = torch.stack([cells // 3, cells % 3], -1) * grid.pitch + grid.origin
    return unjittered + offsets


def draw_offsets(grid, shape, gen):
    """patch-grid.ts drawJitter for a tensor of patches: uniform in [−jitter, jitter] per axis."""
    return torch.randint(-grid.jitter, grid.jitter + 1, tuple(shape) + (2,), generator=gen)


def cut_patches(images, corners, patch, out_size):
    """patch-grid.ts cutPatches on NCHW: corners [n, k, 2] → [n·k, C, out, out], image 0's k patches
    first, each enlarged by nearest neighbour (source pixel ⌊i·patch/out⌋) to out_size."""
    n, _, height, width = images.shape
    top, left = corners[..., 0], corners[..., 1]
    if (top < 0).any() or (left < 0).any() or (top + patch > height).any() or (left + patch > width).any():
        raise InputError(f"a patch leaves the {height}×{width} image")
    source = torch.arange(out_size, device=images.device) * patch // out_size
    rows = (top[..., None] + source)[..., :, None]
    cols = (left[..., None] + source)[..., None, :]
    image = torch.arange(n, device=images.device)[:, None, None, None]
    # Advanced indices around a slice put their dimensions first: [n, k, out, out, C].
    patches = images[image, :, rows, cols]
    return patches.permute(0, 1, 4, 2, 3).reshape(-1, images.shape[1], out_size, out_size)


def both_views(x):
    """[n, 2, ...] per image and view → [2n, ...], view 1's images then view 2's (the app's order)."""
    return torch.cat([x[:, 0], x[:, 1]])


class PatchTask(Method):
    """An encoder and per-patch projector (the papers' fc6) named under `prefix`, and a classifier over
    `pieces` projections side by side (fc7: one hidden layer as wide as its input, fc8: `classes`)."""

    def __init__(self, config, matmul, prefix, pieces, classes):
        super().__init__()
        self.config = config
        self.grid = patch_grid(config["imageSize"])
        self.out_size = max(self.grid.patch, smallest_input_size(config["backbone"]))
        self.backbone, feature_dim = create_backbone(config["backbone"], f"{prefix}/backbone")
        self.projector = create_mlp(config["projector"], feature_dim, f"{prefix}/projector", matmul)
        width = pieces * config["projector"]["out"]
        self.classifier = create_mlp({"hidden": [width], "out": classes}, width, f"{prefix}/classifier", matmul)
        self.encoder = self.backbone
        self.parts = {"backbone": self.backbone, "projector": self.projector, "classifier": self.classifier}
        self.params = self.backbone.app_params() + self.projector.app_params() + self.classifier.app_params()

    def networks(self):
        return [self.backbone, self.projector, self.classifier]

    def classify(self, patches, count):
        """Logits of `count` examples from their patches, each example's patches in consecutive rows."""
        projected = self.projector(self.backbone(patches))
        return self.classifier(projected.reshape(count, -1))


def require(extra, names, what):
    if extra is None or any(extra.get(name) is None for name in names):
        raise InputError(f"{what} needs {' and '.join(names)} of each image")


class ContextPrediction(PatchTask):
    """methods/context.ts: the centre patch and one of its eight neighbours through the encoder and
    projector, the pair side by side into a classifier that names the neighbour. extra: "positions"
    [n, 2] (neighbour 0–7 of each view's image) and "offsets" [n, 2, 2, 2] (view, centre/neighbour, dy/dx)."""

    def __init__(self, config, matmul):
        super().__init__(config, matmul, "context", 2, NEIGHBOURS)

    def random_inputs(self, n, gen):
        return {"positions": torch.randint(0, NEIGHBOURS, (n, 2), generator=gen), "offsets": draw_offsets(self.grid, (n, 2, 2), gen)}

    def forward(self, v1, v2, extra=None):
        require(extra, ("positions", "offsets"), "context prediction")
        positions = both_views(extra["positions"])
        neighbours = positions + (positions >= CENTRE_CELL).long()  # context.ts neighbourCell: skip the centre
        cells = torch.stack([torch.full_like(positions, CENTRE_CELL), neighbours], 1)
        corners = cell_corners(self.grid, cells, both_views(extra["offsets"]))
        patches = cut_patches(torch.cat([v1, v2]), corners, self.grid.patch, self.out_size)
        return F.cross_entropy(self.classify(patches, positions.shape[0]), positions)


class AppRng:
    """random.ts Rng (mulberry32), for what the app draws from the run's seed outside the training
    stream: the first permutation of the jigsaw's set."""

    MASK = 0xFFFFFFFF

    def __init__(self, seed):
        self.state = (((seed ^ 0x9E3779B9) & self.MASK) * 0x85EBCA6B & self.MASK) or 1

    def next(self):
        m = self.MASK
        self.state = t = (self.state + 0x6D2B79F5) & m
        t = ((t ^ (t >> 15)) * (t | 1)) & m
        t = (t ^ ((t + ((t ^ (t >> 7)) * (t | 61))) & m)) & m
        return ((t ^ (t >> 14)) & m) / 4294967296

    def int(self, n):
        return math.floor(self.next() * n)


def maximal_hamming_permutations(count, seed):
    """jigsaw.ts maximalHammingPermutations (the paper's Algorithm 1): the first permutation of the
    nine cells drawn from the seed's generator, each next the one with the largest summed Hamming
    distance to those chosen, i.e. the fewest summed matches (the first such in lexicographic order).
    Returns [count, 9] long: slot t of permutation p holds cell [p, t]."""
    orderings = torch.tensor(list(itertools.permutations(range(GRID_CELLS))), dtype=torch.long)
    total = orderings.shape[0]
    if not 1 <= count <= total:
        raise InputError(f"A permutation set holds 1 to {total} permutations, asked for {count}.")
    # same_place[slot][cell]: the orderings that put `cell` in `slot`.
    same_place = [torch.sort(orderings[:, slot], stable=True)[1].reshape(GRID_CELLS, -1) for slot in range(GRID_CELLS)]
    matches = torch.zeros(total, dtype=torch.long)
    chosen = torch.zeros(total, dtype=torch.bool)
    picked = []
    following = AppRng(seed).int(total)
    while len(picked) < count:
        chosen[following] = True
        picked.append(following)
        for slot, cell in enumerate(orderings[following].tolist()):
            matches[same_place[slot][cell]] += 1
        # argmin returns the first of equal minima.
        following = int(torch.argmin(matches.masked_fill(chosen, total * GRID_CELLS)))
    return orderings[picked]


class Jigsaw(PatchTask):
    """methods/jigsaw.ts: nine tiles, each moved by its own offset and normalised on its own, through the
    encoder and projector in the order a permutation of the run's set shuffles them; a classifier on the
    nine projections side by side names the permutation. extra: "puzzles" [n, 2] (the permutation of each
    view's image) and "offsets" [n, 2, 9, 2] (view, grid cell, dy/dx)."""

    def __init__(self, config, matmul):
        count = int(config["options"]["permutations"])
        super().__init__(config, matmul, "jigsaw", GRID_CELLS, count)
        self.register_buffer("permutations", maximal_hamming_permutations(count, config["seed"]), persistent=False)

    def random_inputs(self, n, gen):
        return {"puzzles": torch.randint(0, self.permutations.shape[0], (n, 2), generator=gen), "offsets": draw_offsets(self.grid, (n, 2, GRID_CELLS), gen)}

    def forward(self, v1, v2, extra=None):
        require(extra, ("puzzles", "offsets"), "the jigsaw puzzle")
        puzzles = both_views(extra["puzzles"])
        cells = self.permutations[puzzles]  # slot t holds the tile of cell permutation[t]
        offsets = both_views(extra["offsets"]).gather(1, cells[..., None].expand(-1, -1, 2))
        tiles = cut_patches(torch.cat([v1, v2]), cell_corners(self.grid, cells, offsets), self.grid.patch, self.out_size)
        # jigsaw.ts normalizeEachTile: zero mean, unit (biased) variance over each tile's pixels and channels.
        mean = tiles.mean(dim=(1, 2, 3), keepdim=True)
        variance = ((tiles - mean) ** 2).mean(dim=(1, 2, 3), keepdim=True)
        tiles = (tiles - mean) / torch.sqrt(variance + 1e-5)
        return F.cross_entropy(self.classify(tiles, puzzles.shape[0]), puzzles)


class Exemplar(SingleEncoder):
    """methods/exemplar.ts: every training image its own class; a linear classifier with a row per image
    on the projections of both views names the image (its dataset index). The classifier's rows follow
    the dataset: weights of another image folder leave them fresh, as NPID's bank."""

    resizable_state = ("exemplar/classifier/fc0/kernel", "exemplar/classifier/fc0/bias")

    def __init__(self, config, matmul, dataset_size):
        super().__init__(config, matmul, "exemplar")
        if not dataset_size:
            raise InputError("Exemplar CNN's classifier needs the number of training images")
        self.classifier = create_mlp({"hidden": [], "out": dataset_size}, config["projector"]["out"], "exemplar/classifier", matmul)
        self.heads = [self.classifier]
        self.parts["classifier"] = self.classifier
        self.params = self.params + self.classifier.app_params()

    def forward(self, v1, v2, extra=None):
        require(extra, ("indices",), "Exemplar CNN")
        indices = extra["indices"]
        logits = self.classifier(torch.cat([self.net(v1), self.net(v2)]))
        return F.cross_entropy(logits, torch.cat([indices, indices]))


def centre_hole(image_size):
    """inpainting.ts centreHole: (top-left, side) of the centre square of half the image's side."""
    size = image_size // 2
    return (image_size - size) // 2, size


def upsample2():
    """nn.ts upsample2: each pixel repeated 2×2."""
    return Lambda(lambda x: F.interpolate(x, scale_factor=2, mode="nearest"))


class Inpainting(Method):
    """methods/inpainting.ts (context encoder): the centre hole set to 0, the encoder and bottleneck on
    the rest, a decoder (BN, ReLU, linear to a small map as wide as the features, two doublings with
    3×3 convolutions) paints a map whose top-left hole-sized square is compared with the hole (MSE)."""

    def __init__(self, config, matmul):
        super().__init__()
        self.start, self.size = centre_hole(config["imageSize"])
        if self.size < 1:
            raise InputError(f"Inpainting needs images of at least 2 px, got {config['imageSize']} px.")
        self.backbone, width = create_backbone(config["backbone"], "inpainting/backbone")
        self.bottleneck = create_mlp(config["projector"], width, "inpainting/bottleneck", matmul)
        code = config["projector"]["out"]
        side = math.ceil(self.size / 4)
        self.decoder = Sequence([
            BatchNorm("inpainting/decoder/bn_code", code, spatial=False),
            relu(),
            Dense("inpainting/decoder/fc", code, side * side * width, False, matmul),
            BatchNorm("inpainting/decoder/bn0", side * side * width, spatial=False),
            relu(),
            # nn.ts reshapeToMap makes an NHWC map of the vector; NCHW from there.
            Lambda(lambda x: x.reshape(x.shape[0], side, side, width).permute(0, 3, 1, 2)),
            upsample2(),
            Conv("inpainting/decoder/conv1", width, width, 3),
            BatchNorm("inpainting/decoder/bn1", width, spatial=True),
            relu(),
            upsample2(),
            Conv("inpainting/decoder/conv2", width, 3, 3),
        ])
        self.encoder = self.backbone
        self.parts = {"backbone": self.backbone, "bottleneck": self.bottleneck, "decoder": self.decoder}
        self.params = self.backbone.app_params() + self.bottleneck.app_params() + self.decoder.app_params()

    def networks(self):
        return [self.backbone, self.bottleneck, self.decoder]

    def forward(self, v1, v2, extra=None):
        images = torch.cat([v1, v2])
        hole = slice(self.start, self.start + self.size)
        keep = torch.ones_like(images[:1, :1])
        keep[..., hole, hole] = 0
        painted = self.decoder(self.bottleneck(self.backbone(images * keep)))
        return ((painted[..., :self.size, :self.size] - images[..., hole, hole]) ** 2).mean()


METHOD_CLASSES = {
    "byol": Byol, "simclr": SimClr, "simsiam": SimSiam, "barlow": BarlowTwins, "vicreg": Vicreg,
    "mocov2": MocoV2, "supcon": SupCon, "npid": Npid, "moby": Moby, "unigrad": UniGrad, "rotation": Rotation,
    "mobyv2al": MobyV2Al,
    "context": ContextPrediction, "jigsaw": Jigsaw, "exemplar": Exemplar, "inpainting": Inpainting,
}
# Methods whose networks or state have a row per training image.
DATASET_SIZED = ("npid", "exemplar")
METHODS = tuple(METHOD_CLASSES)


def build_method(config, matmul=F.linear, dataset_size=None, num_classes=1):
    """The method's networks for an app TrainConfig, in training mode; `dataset_size` sizes NPID's
    memory bank, `num_classes` MoBYv2AL's classifier."""
    method = config.get("method")
    if method not in METHOD_CLASSES:
        raise InputError(f'method "{method}" is not reproduced in PyTorch; choose one of {", ".join(METHODS)}')
    if method in DATASET_SIZED:
        model = METHOD_CLASSES[method](config, matmul, dataset_size)
    elif method == "mobyv2al":
        model = MobyV2Al(config, matmul, num_classes)
    else:
        model = METHOD_CLASSES[method](config, matmul)
    model.train()
    return model


# ---------------------------------------------------------------------------------------------
# Across processes: what solo-learn gathers, and BatchNorm statistics over the global batch.
# ---------------------------------------------------------------------------------------------

def distributed():
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank():
    return dist.get_rank() if distributed() else 0


class GatherLayer(torch.autograd.Function):
    """solo-learn's GatherLayer: all-gather whose backward sums every process's gradient for this
    process's slice, so a loss over gathered rows trains the rows' own encoder."""

    @staticmethod
    def forward(ctx, x):
        output = [torch.zeros_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(output, x.contiguous())
        return tuple(output)

    @staticmethod
    def backward(ctx, *grads):
        all_gradients = torch.stack(grads)
        dist.all_reduce(all_gradients)
        return all_gradients[dist.get_rank()]


def gather_with_grad(x):
    """Rows of every process in rank order (x itself on one process)."""
    return torch.cat(GatherLayer.apply(x)) if distributed() else x


@torch.no_grad()
def gather(x):
    """Rows of every process in rank order, without gradient (keys for a queue, labels, indices)."""
    if not distributed():
        return x
    output = [torch.zeros_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(output, x.contiguous())
    return torch.cat(output)


class AllReduceSum(torch.autograd.Function):
    """Sum over processes; the gradient of a sum every process uses is the sum of their gradients."""

    @staticmethod
    def forward(ctx, x):
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


def global_batch_norm(x, norm):
    """BatchNorm in training mode with the mean and variance of the global batch, as
    torch.nn.SyncBatchNorm (which torch 1.13 runs on CUDA only, so it is written out here for gloo
    too); running statistics move as PyTorch's do (momentum, unbiased variance)."""
    dims = [0] + list(range(2, x.dim()))
    shape = [1, -1] + [1] * (x.dim() - 2)
    count = AllReduceSum.apply(torch.tensor([float(x.numel() // x.shape[1])], device=x.device))
    mean = AllReduceSum.apply(x.sum(dims)) / count
    centred = x - mean.reshape(shape)
    variance = AllReduceSum.apply((centred * centred).sum(dims)) / count
    with torch.no_grad():
        m = norm.momentum
        norm.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
        norm.running_var.mul_(1 - m).add_(variance.detach() * count / max(count.item() - 1, 1), alpha=m)
    y = centred * torch.rsqrt(variance + norm.eps).reshape(shape)
    if norm.affine:
        y = y * norm.weight.reshape(shape) + norm.bias.reshape(shape)
    return y


# ---------------------------------------------------------------------------------------------
# Optimizers (optimizers.ts): PyTorch semantics already; only LARS needs writing out.
# ---------------------------------------------------------------------------------------------

class Lars:
    """solo-learn's LARS as the app has it: update = g + wd·w scaled by the trust ratio
    η‖w‖ / (‖g‖ + wd‖w‖ + 1e-8) (clipped to lr·ratio ≤ lr, 1 where a norm is 0); biases and
    norm parameters take the plain gradient when excluded; then heavy-ball momentum."""

    def __init__(self, params, lr, settings):
        self.params, self.lr = params, lr
        self.momentum, self.decay, self.eta = settings["momentum"], settings["weightDecay"], settings["eta"]
        self.clip = settings["clipLr"]
        self.excluded = [settings["excludeBiasAndNorm"] and p.role != "weight" for p in params]
        self.buffers = [torch.zeros_like(p.tensor) for p in params]

    @torch.no_grad()
    def step(self):
        for p, excluded, buffer in zip(self.params, self.excluded, self.buffers):
            w, g = p.tensor, p.tensor.grad
            update = g
            if not excluded:
                update = g.add(w, alpha=self.decay)
                w_norm, g_norm = torch.linalg.vector_norm(w), torch.linalg.vector_norm(g)
                trust = self.eta * w_norm / (g_norm + self.decay * w_norm + 1e-8)
                if self.clip:
                    trust = torch.clamp(trust / self.lr, max=1.0)
                update = update * torch.where((w_norm > 0) & (g_norm > 0), trust, torch.ones_like(trust))
            buffer.mul_(self.momentum).add_(update)
            w.sub_(buffer, alpha=self.lr)

    def zero_grad(self, set_to_none=True):
        for p in self.params:
            p.tensor.grad = None


def create_optimizer(config, params):
    settings, lr = config["optimizer"], config["learningRate"]
    kind = settings.get("kind")
    if kind == "adamw":
        # The app decays only 'weight' parameters (kernels), never biases or BatchNorm γ/β.
        groups = [
            {"params": [p.tensor for p in params if p.role == "weight"], "weight_decay": settings["weightDecay"]},
            {"params": [p.tensor for p in params if p.role != "weight"], "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(groups, lr=lr, betas=(settings["beta1"], settings["beta2"]), eps=settings["epsilon"], foreach=True)
    if kind == "sgd":
        # Plain SGD decays every parameter, as the app's momentumSgd does.
        return torch.optim.SGD([p.tensor for p in params], lr=lr, momentum=settings["momentum"], weight_decay=settings["weightDecay"], foreach=True)
    if kind == "lars":
        return Lars(params, lr, settings)
    raise InputError(f'Unknown optimizer kind "{kind}"; expected "adamw", "sgd" or "lars"')


# ---------------------------------------------------------------------------------------------
# Augmentations (augment.ts), batched: per-image parameters drawn as small tensors, pixels in a few ops.
# All images NCHW float in [0, 1].
# ---------------------------------------------------------------------------------------------

def js_round(x):
    """Math.round: halves go up (torch.round goes to even)."""
    return torch.floor(x + 0.5)


def sample_crop_boxes(n, height, width, scale, ratio, gen):
    """augment.ts sampleCropBox for n images at once: up to 10 tries each, then the centre fallback.
    Returns pixel (top, left, h, w) as float tensors [n]."""
    area = height * width
    target_area = area * (scale[0] + (scale[1] - scale[0]) * torch.rand(n, CROP_ATTEMPTS, generator=gen))
    log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_low + (log_high - log_low) * torch.rand(n, CROP_ATTEMPTS, generator=gen))
    w = js_round(torch.sqrt(target_area * aspect))
    h = js_round(torch.sqrt(target_area / aspect))
    fits = (w > 0) & (h > 0) & (w <= width) & (h <= height)
    found = fits.any(1)
    first = fits.float().argmax(1)  # the first try that fits (0, unused, where none does)
    w = w.gather(1, first[:, None])[:, 0]
    h = h.gather(1, first[:, None])[:, 0]
    in_ratio = width / height
    fallback_w, fallback_h = float(width), float(height)
    if in_ratio < ratio[0]:
        fallback_h = float(round(width / ratio[0]))
    elif in_ratio > ratio[1]:
        fallback_w = float(round(height * ratio[1]))
    w = torch.where(found, w, torch.full_like(w, fallback_w))
    h = torch.where(found, h, torch.full_like(h, fallback_h))
    top = torch.floor(torch.rand(n, generator=gen) * (height - h + 1))
    left = torch.floor(torch.rand(n, generator=gen) * (width - w + 1))
    top = torch.where(found, top, torch.floor((height - h) / 2))
    left = torch.where(found, left, torch.floor((width - w) / 2))
    return top, left, h, w


def crop_resize_flip(images, view, out_size, gen):
    """tf.image.cropAndResize (bilinear, samples from corner to corner, so align_corners=True) of
    a random resized crop per image; a flip swaps the box's x ends, as the app does."""
    n, _, height, width = images.shape
    flips = torch.rand(n, generator=gen) < view["flipProbability"]
    if view["crop"] is None and height == out_size and width == out_size:
        return torch.where(flips[:, None, None, None], images.flip(3), images)
    if view["crop"] is not None:
        top, left, h, w = sample_crop_boxes(n, height, width, view["crop"]["scale"], view["crop"]["ratio"], gen)
    else:
        top, left = torch.zeros(n), torch.zeros(n)
        h, w = torch.full((n,), float(height)), torch.full((n,), float(width))
    # Normalised corners as augment.ts pixelBox makes them.
    y1, y2 = top / max(height - 1, 1), (top + h - 1) / max(height - 1, 1)
    x1, x2 = left / max(width - 1, 1), (left + w - 1) / max(width - 1, 1)
    x1, x2 = torch.where(flips, x2, x1), torch.where(flips, x1, x2)
    # Grid coordinate in [-1, 1] of output sample i: 2·(x1 + t·(x2 − x1)) − 1 with t = i/(out − 1).
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2] = x2 - x1, x1 + x2 - 1
    theta[:, 1, 1], theta[:, 1, 2] = y2 - y1, y1 + y2 - 1
    grid = F.affine_grid(theta, [n, 3, out_size, out_size], align_corners=True)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def per_image(values):
    return values[:, None, None, None]


def grayscale(x):
    r, g, b = GRAY_WEIGHTS
    return r * x[:, 0:1] + g * x[:, 1:2] + b * x[:, 2:3]


def uniform(n, low, high, gen):
    return low + (high - low) * torch.rand(n, generator=gen)


def hue_matrices(shifts):
    """augment.ts hueMatrices: RGB → YIQ, rotate the chroma plane, back; [n, 3, 3] acting on column vectors."""
    to_yiq = torch.tensor(RGB_TO_YIQ)
    from_yiq = torch.linalg.inv(to_yiq)
    c, s = torch.cos(2 * math.pi * shifts), torch.sin(2 * math.pi * shifts)
    rotation = torch.zeros(shifts.shape[0], 3, 3)
    rotation[:, 0, 0] = 1
    rotation[:, 1, 1], rotation[:, 1, 2] = c, -s
    rotation[:, 2, 1], rotation[:, 2, 2] = s, c
    return from_yiq @ rotation @ to_yiq


def gaussian_matrices(sigmas, size):
    """augment.ts gaussianMatrices: row-stochastic smoothing [n, size, size]; σ = 0 is the identity."""
    i = torch.arange(size, dtype=torch.float32)
    distance2 = (i[:, None] - i[None, :]) ** 2
    safe = torch.where(sigmas > 0, sigmas, torch.ones_like(sigmas))[:, None, None]
    weights = torch.exp(-distance2 / (2 * safe * safe))
    weights = torch.where((sigmas > 0)[:, None, None], weights, torch.eye(size).expand_as(weights))
    return weights / weights.sum(-1, keepdim=True)


def augment_batch(images, view, out_size, gen):
    n = images.shape[0]
    x = crop_resize_flip(images, view, out_size, gen)
    jitter = view.get("colorJitter")
    if jitter:
        on = torch.rand(n, generator=gen) < jitter["probability"]
        ones = torch.ones(n)

        def factor(strength):
            return torch.where(on, uniform(n, max(0.0, 1 - strength), 1 + strength, gen), ones)

        brightness, contrast, saturation = factor(jitter["brightness"]), factor(jitter["contrast"]), factor(jitter["saturation"])
        hue = torch.where(on, uniform(n, -jitter["hue"], jitter["hue"], gen), torch.zeros(n))
        x = (x * per_image(brightness)).clamp_(0, 1)
        mean_gray = grayscale(x).mean(dim=(1, 2, 3), keepdim=True)
        x = ((x - mean_gray) * per_image(contrast) + mean_gray).clamp_(0, 1)
        gray = grayscale(x)
        x = ((x - gray) * per_image(saturation) + gray).clamp_(0, 1)
        if jitter["hue"] > 0:
            x = torch.bmm(hue_matrices(hue), x.reshape(n, 3, -1)).reshape(n, 3, out_size, out_size).clamp_(0, 1)
    if view["grayscaleProbability"] > 0:
        chosen = (torch.rand(n, generator=gen) < view["grayscaleProbability"]).float()
        x = x + (grayscale(x) - x) * per_image(chosen)
    blur = view.get("blur")
    if blur and blur["probability"] > 0:
        chosen = torch.rand(n, generator=gen) < blur["probability"]
        sigmas = torch.where(chosen, uniform(n, blur["sigma"][0], blur["sigma"][1], gen), torch.zeros(n))
        kernels = gaussian_matrices(sigmas, out_size)[:, None]
        x = kernels @ x @ kernels.transpose(-1, -2)  # separable: rows, then columns
    if view["solarizeProbability"] > 0:
        chosen = (torch.rand(n, generator=gen) < view["solarizeProbability"]).float()
        solarized = torch.where(x >= 0.5, 1 - x, x)
        x = x + (solarized - x) * per_image(chosen)
    return x


def standardize(x):
    mean = torch.tensor(INPUT_MEAN)[None, :, None, None]
    std = torch.tensor(INPUT_STD)[None, :, None, None]
    return (x - mean) / std




# ---------------------------------------------------------------------------------------------
# Weights: safetensors (8-byte header length, JSON header, raw little-endian data), read and written
# with the standard library, under the app's names and in PyTorch's layouts (src/engine/torch-weights.ts).
# ---------------------------------------------------------------------------------------------

SAFETENSORS_DTYPES = {"F32": torch.float32, "I32": torch.int32, "I64": torch.int64, "U8": torch.uint8, "BOOL": torch.bool}


def save_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor} (moved to the CPU, contiguous) as a safetensors file."""
    names = {dtype: name for name, dtype in SAFETENSORS_DTYPES.items()}
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, tensor in tensors.items():
        tensor = tensor.detach().cpu().contiguous()
        if tensor.dtype not in names:
            tensor = tensor.float()
        data = tensor.numpy().tobytes() if tensor.dtype != torch.bool else tensor.to(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": names[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for chunk in chunks:
            f.write(chunk)


def load_safetensors(path):
    """Reads a safetensors file: ({name: tensor}, metadata)."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        start, end = entry["data_offsets"]
        dtype = SAFETENSORS_DTYPES.get(entry["dtype"])
        if dtype is None:
            raise InputError(f"{path}: tensor {name} has dtype {entry['dtype']}; expected one of {', '.join(SAFETENSORS_DTYPES)}")
        raw = bytearray(data[start:end])
        flat = torch.frombuffer(raw, dtype=dtype if dtype != torch.bool else torch.uint8) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(entry["shape"]).to(dtype)
    return tensors, metadata


def app_state_dict(model):
    """{app name: tensor} of every parameter and BatchNorm buffer of the method (what the app imports)."""
    return {p.name: p.tensor.detach() for p in model.app_tensors()}


@torch.no_grad()
def load_app_state(model, state):
    """Copies {app name: tensor} into the method; names and shapes are checked before anything is written.
    A state tensor whose rows follow the dataset (NPID's bank) and whose row count differs keeps its
    fresh values; returns the names kept that way."""
    expected = model.app_tensors()
    missing = [p.name for p in expected if p.name not in state]
    if missing:
        raise InputError(f"the weights lack {len(missing)} tensors this network needs, e.g. {', '.join(missing[:3])}")

    def resized(p):
        saved = state[p.name]
        return p.name in model.resizable_state and saved.shape[1:] == p.tensor.shape[1:] and saved.shape[0] != p.tensor.shape[0]

    kept = [p.name for p in expected if resized(p)]
    wrong = [f"{p.name} {list(state[p.name].shape)} ≠ {list(p.tensor.shape)}" for p in expected if state[p.name].shape != p.tensor.shape and p.name not in kept]
    if wrong:
        raise InputError(f"the weights do not fit this network: {'; '.join(wrong[:3])}")
    for p in expected:
        if p.name not in kept:
            p.tensor.copy_(state[p.name].to(p.tensor.dtype))
    return kept
