#!/usr/bin/env python3
"""The app's training step in PyTorch, timed on the CPU: the reference the benchmark divides by.

Builds the network the app builds for a TrainConfig (src/engine/backbones.ts, heads.ts, nn.ts, the
method file), the same optimizer (src/engine/optimizers.ts) and the same batched augmentations
(src/engine/augment.ts), then times whole steps: augment both views, forward, loss, backward,
optimizer step, EMA of the target.

Input (file path as the only argument, or stdin), one JSON object:
  {"config": <TrainConfig>, "steps": N, "warmupSteps": W, "threads": T,
   "method": "byol" | "simclr",          (optional; defaults to config.method and must match it)
   "matmul": "onednn" | "blas",          (optional, default "onednn"; see dense_matmul)
   "images": "path/to/uint8.npy",        (optional [count, size, size, 3] uint8; default random pixels)
   "malloc": "keep" | "default",         (optional, default "keep"; see keep_freed_memory)
   "memoryFormat": "channels_last" | "contiguous",  (optional, default "channels_last"; see build)
   "datasetSize": 5000}                  (optional, number of random images to draw batches from)
The TrainConfig sits under "config" because its own `warmupSteps` (learning-rate warm-up) and
`method` would clash with the run's options. The environment's OMP_WAIT_POLICY (PASSIVE unless
set) goes to OpenMP; see below.

Output: one JSON line on stdout. With --check-shapes, the parameters and buffers with the app's
names and shapes (and the PyTorch shapes) instead of a timing. If torch cannot be imported, the
line is {"skipped": reason} and the exit status 0, so a caller can tell "no PyTorch" from a crash.

Only PyTorch and the standard library are used.
"""
import ast
import ctypes
import ctypes.util
import json
import math
import os
import statistics
import sys
import time

# OpenMP threads that spin while they wait for each other make several threads fast on idle cores,
# and many times slower than one thread once other processes want those cores: the spinning thread
# takes the core from the thread it waits for. This machine is shared, so threads sleep at once
# unless the caller sets OMP_WAIT_POLICY=ACTIVE. libgomp reads it when torch loads it: set it first.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    import torch
    import torch.nn.functional as F
except ImportError as error:  # reported, not raised: a machine without PyTorch skips the comparison
    print(json.dumps({"skipped": f"cannot import torch with {sys.executable}: {error}"}))
    sys.exit(0)

METHODS = ("byol", "simclr")
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
    """losses.ts ntXentLoss: each of the 2N views picks its partner among the 2N − 1 others."""
    n = z1.shape[0]
    features = torch.cat([F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)])
    logits = matmul(features, features) / temperature
    self_mask = torch.eye(2 * n, dtype=torch.bool)
    logits = logits.masked_fill(self_mask, MASKED_LOGIT)
    partners = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(logits, partners)


def cosine_tau(base_tau, step, total_steps):
    progress = min(max(step / max(total_steps, 1), 0), 1)
    return 1 - (1 - base_tau) * (math.cos(math.pi * progress) + 1) / 2


class Byol:
    """methods/byol.ts: online encoder + predictor, EMA target, symmetric loss."""

    def __init__(self, config, matmul):
        if not config.get("predictor"):
            raise InputError("BYOL needs a predictor head (config.predictor is null)")
        self.config = config
        self.online = ProjectedEncoder(config, "online", matmul)
        self.predictor = create_mlp(config["predictor"], config["projector"]["out"], "predictor", matmul)
        self.target = ProjectedEncoder(config, "target", matmul)
        self.target.load_state_dict(self.online.state_dict())
        for p in self.target.parameters():
            p.requires_grad_(False)
        self.modules = {"backbone": self.online.backbone, "projector": self.online.projector, "predictor": self.predictor}
        self.params = self.online.app_params() + self.predictor.app_params()
        self.online_params = [p.tensor for p in self.online.app_params()]
        self.target_params = [p.tensor for p in self.target.app_params()]

    def all_modules(self):
        return [self.online, self.predictor, self.target]

    def loss(self, v1, v2):
        z1, z2 = self.online(v1), self.online(v2)
        p1, p2 = self.predictor(z1), self.predictor(z2)
        # The app runs the target inside the tape too, but no gradient path leads into it.
        with torch.no_grad():
            t1, t2 = self.target(v1), self.target(v2)
        return byol_loss(p1, t2) + byol_loss(p2, t1)

    @torch.no_grad()
    def after_step(self, step):
        """ema.ts emaUpdate: target ← τ·target + (1 − τ)·online over parameters (BN statistics are the target's own)."""
        c = self.config
        tau = cosine_tau(c["tau"], step, c["totalSteps"]) if c.get("tauSchedule") else c["tau"]
        torch._foreach_mul_(self.target_params, tau)
        torch._foreach_add_(self.target_params, self.online_params, alpha=1 - tau)


class SimClr:
    """methods/simclr.ts: one encoder for both views, NT-Xent."""

    def __init__(self, config, matmul):
        self.config, self.matmul = config, matmul
        self.encoder = ProjectedEncoder(config, "simclr", matmul)
        self.modules = {"backbone": self.encoder.backbone, "projector": self.encoder.projector}
        self.params = self.encoder.app_params()

    def all_modules(self):
        return [self.encoder]

    def loss(self, v1, v2):
        return nt_xent_loss(self.encoder(v1), self.encoder(v2), self.config["temperature"], self.matmul)

    def after_step(self, step):
        pass


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
# Input, the step, timing.
# ---------------------------------------------------------------------------------------------

def load_npy_uint8(path):
    """A C-ordered uint8 .npy array [count, size, size, 3], read with the standard library only."""
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise InputError(f"{path} is not a .npy file")
        major = f.read(2)[0]
        header_length = int.from_bytes(f.read(2 if major == 1 else 4), "little")
        header = ast.literal_eval(f.read(header_length).decode("latin1"))
        data = f.read()
    shape = tuple(header["shape"])
    if header["descr"] not in ("|u1", "u1") or header["fortran_order"] or len(shape) != 4 or shape[3] != 3 or shape[1] != shape[2]:
        raise InputError(f"{path}: expected C-ordered uint8 [count, size, size, 3], got {header}")
    pixels = torch.frombuffer(bytearray(data), dtype=torch.uint8).reshape(shape)
    return pixels.permute(0, 3, 1, 2).contiguous()


def keep_freed_memory():
    """Stops glibc from handing freed blocks back to the OS. By default a block over 32 MB (a ResNet-18
    activation at batch 128) is mmap-ed and unmapped again when freed, so every step page-faults its
    activations back in, which costs more than the arithmetic on this VM; jemalloc or tcmalloc, the
    usual PyTorch fix, are not installed. Returns whether glibc accepted the settings."""
    path = ctypes.util.find_library("c")
    if path is None:
        return False
    libc = ctypes.CDLL(path)
    m_trim_threshold, m_mmap_threshold = -1, -3
    # Blocks up to 1 GiB come from the heap, and the heap is never trimmed.
    return bool(libc.mallopt(m_mmap_threshold, 1 << 30)) and bool(libc.mallopt(m_trim_threshold, 2**31 - 1))


def read_request(argv):
    paths = [a for a in argv if not a.startswith("--")]
    text = open(paths[0]).read() if paths and paths[0] != "-" else sys.stdin.read()
    try:
        request = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"the input is not JSON: {error}")
    config = request.get("config") if isinstance(request, dict) else None
    if not isinstance(config, dict):
        raise InputError('the input needs a "config" object (the app\'s TrainConfig) next to steps, warmupSteps, threads and method')
    method = request.get("method", config.get("method"))
    if method not in METHODS:
        raise InputError(f'method "{method}" is not reproduced here; choose one of {", ".join(METHODS)}')
    if method != config.get("method"):
        raise InputError(f'the config is for "{config.get("method")}" but method "{method}" was asked for')
    for key in ("backbone", "projector", "optimizer", "learningRate", "batchSize", "imageSize", "augmentations"):
        if key not in config:
            raise InputError(f'config.{key} is missing')
    return request, config, method


def positive_int(request, key, default, minimum):
    value = request.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InputError(f"{key} must be a whole number of at least {minimum}, got {value!r}")
    return value


def build(config, method, matmul_kind, memory_format):
    """The method's networks in training mode. Channels-last (NHWC, the app's own layout) lets oneDNN
    convolve without reordering every activation to its blocked layout and back, which NCHW needs."""
    matmul = dense_matmul(matmul_kind)
    model = Byol(config, matmul) if method == "byol" else SimClr(config, matmul)
    for module in model.all_modules():
        module.train()
        # Converts in place: the Parameter objects the method and optimizer hold stay the same.
        module.to(memory_format=memory_format)
    return model


def shapes_report(model, method):
    def describe(p):
        return {"name": p.name, "role": p.role, "shape": p.app_shape, "torchShape": list(p.tensor.shape)}

    buffers = [b for m in model.all_modules() for b in m.app_buffers()]
    return {
        "torch": torch.__version__,
        "method": method,
        "params": sum(p.tensor.numel() for p in model.params),
        "paramsPerModule": {name: sum(p.numel() for p in m.parameters()) for name, m in model.modules.items()},
        "parameters": [describe(p) for p in model.params],
        "buffers": [describe(b) for b in buffers],
    }


def time_steps(model, config, request, memory_format):
    steps = positive_int(request, "steps", 20, 1)
    warmup = positive_int(request, "warmupSteps", 3, 0)
    batch, size = config["batchSize"], config["imageSize"]
    seed = config.get("seed", 1)
    torch.manual_seed(seed)
    data_gen = torch.Generator().manual_seed(seed * 7919 + 1)
    augment_gen = torch.Generator().manual_seed(seed * 104729 + 2)
    if request.get("images"):
        pool = load_npy_uint8(request["images"])
        if pool.shape[2] != size:
            raise InputError(f'{request["images"]} holds {pool.shape[2]} px images; the config trains on {size} px (the app loads data at that size)')
    else:
        count = positive_int(request, "datasetSize", 5000, batch)
        pool = torch.randint(0, 256, (count, 3, size, size), dtype=torch.uint8, generator=data_gen)
    optimizer = create_optimizer(config, model.params)
    views = config["augmentations"]

    phases = ("augment", "forward", "backward", "optimizer", "ema")
    totals = dict.fromkeys(phases, 0.0)
    step_ms, losses = [], []
    for step in range(warmup + steps):
        if step == warmup:
            cpu_start = time.process_time()
        start = time.perf_counter()
        indices = torch.randint(0, pool.shape[0], (batch,), generator=data_gen)
        raw = pool.index_select(0, indices).float().div_(255)
        v1 = standardize(augment_batch(raw, views[0], size, augment_gen)).contiguous(memory_format=memory_format)
        v2 = standardize(augment_batch(raw, views[1], size, augment_gen)).contiguous(memory_format=memory_format)
        t_augment = time.perf_counter()
        loss = model.loss(v1, v2)
        t_forward = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        t_backward = time.perf_counter()
        optimizer.step()
        t_optimizer = time.perf_counter()
        model.after_step(step)
        end = time.perf_counter()
        # CPU ops are synchronous, so the marks split the timed step itself: no separate profiled pass.
        if step >= warmup:
            marks = (start, t_augment, t_forward, t_backward, t_optimizer, end)
            for i, phase in enumerate(phases):
                totals[phase] += (marks[i + 1] - marks[i]) * 1000
            step_ms.append((end - start) * 1000)
            losses.append(loss.item())
    cpu_ms = (time.process_time() - cpu_start) * 1000
    bad = next((l for l in losses if not math.isfinite(l)), None)
    if bad is not None:
        raise RuntimeError(f"the loss became {bad}; the timing would not be of a working run")
    mean = statistics.fmean(step_ms)
    return {
        "msPerStep": mean,
        "msPerStepMedian": statistics.median(step_ms),
        "msPerStepMin": min(step_ms),
        "msPerStepMax": max(step_ms),
        "imagesPerSecond": batch * 1000 / mean,
        # Close to threads × msPerStep when the cores were ours; well below it when others ran too.
        "cpuMsPerStep": cpu_ms / steps,
        "steps": steps,
        "warmupSteps": warmup,
        "phases": {phase: totals[phase] / steps for phase in phases},
    }


def main(argv):
    request, config, method = read_request(argv)
    threads = positive_int(request, "threads", len(os.sched_getaffinity(0)), 1)
    matmul_kind = request.get("matmul", "onednn")
    if matmul_kind not in ("onednn", "blas"):
        raise InputError(f'matmul must be "onednn" or "blas", got {matmul_kind!r}')
    malloc = request.get("malloc", "keep")
    if malloc not in ("keep", "default"):
        raise InputError(f'malloc must be "keep" or "default", got {malloc!r}')
    if malloc == "keep" and not keep_freed_memory():
        malloc = "default"
    memory_formats = {"channels_last": torch.channels_last, "contiguous": torch.contiguous_format}
    format_name = request.get("memoryFormat", "channels_last")
    if format_name not in memory_formats:
        raise InputError(f'memoryFormat must be "channels_last" or "contiguous", got {format_name!r}')
    memory_format = memory_formats[format_name]
    torch.set_num_threads(threads)
    model = build(config, method, matmul_kind, memory_format)
    if "--check-shapes" in argv:
        print(json.dumps(shapes_report(model, method)))
        return
    report = shapes_report(model, method)
    timing = time_steps(model, config, request, memory_format)
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "method": method,
        **{k: timing[k] for k in ("msPerStep", "msPerStepMedian", "msPerStepMin", "msPerStepMax", "imagesPerSecond", "cpuMsPerStep")},
        "params": report["params"],
        "paramsPerModule": report["paramsPerModule"],
        "phases": timing["phases"],
        "steps": timing["steps"],
        "warmupSteps": timing["warmupSteps"],
        "batchSize": config["batchSize"],
        "imageSize": config["imageSize"],
        "matmul": matmul_kind,
        "malloc": malloc,
        "memoryFormat": format_name,
        "ompWaitPolicy": os.environ["OMP_WAIT_POLICY"],
    }))


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (InputError, KeyError) as error:
        message = f"missing setting {error}" if isinstance(error, KeyError) else str(error)
        print(f"pytorch_step.py: {message}", file=sys.stderr)
        sys.exit(2)
