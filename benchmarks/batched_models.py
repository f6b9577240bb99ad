"""Several GANs at once: does one batched computation fill the cores better?

Run (from the repository root)::

    python benchmarks/batched_models.py               # K = 1, 2, 4, 8
    python benchmarks/batched_models.py --k 1 2 4 8 16 --rounds 5

Issue 16's third idea: K independent models (an ensemble inside one fit, or
the K folds of a cross-validation) trained as *one* computation, with
``torch.func.stack_module_state`` and ``vmap`` (the networks' matrix products
become batched products over the K models), instead of one after the other.

Each "step" is one WGAN critic step and one generator step of CTGAN-sized
networks (noise 128, a 60-wide condition, a 220-wide encoded row, residual
256-256 generator, packed 256-256 critic, batch 500, pac 10), with Adam. The
gradient penalty is left out of both variants: its double backward under
``vmap`` is another measurement. Batch norm runs without running statistics
in both (``torch.func.replace_all_batch_norm_modules_``), as ``vmap`` needs.

Sequential: K models stepped one after the other with autograd. Batched: the
K models' parameters stacked, the loss's gradients by
``vmap(grad(loss))``, one Adam over the stacked tensors. Rounds alternate
between the two in one process; the medians are printed, with torch's CPU
kernel family, as a Markdown table of milliseconds per step and models
stepped per second.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from torch.func import functional_call, grad, replace_all_batch_norm_modules_, stack_module_state, vmap

from gan_augment.tabular.networks import Discriminator, Generator, initialise

NOISE, COND, WIDTH, BATCH, PAC = 128, 60, 220, 500, 10


def make_models(k: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    device = torch.device("cpu")
    gs, ds = [], []
    for _ in range(k):
        g = initialise(Generator(NOISE + COND, (256, 256), WIDTH), device, gen)
        d = initialise(Discriminator(WIDTH + COND, (256, 256), PAC, 2), device, gen)
        replace_all_batch_norm_modules_(g)
        gs.append(g)
        ds.append(d)
    return gs, ds


def batch_inputs(k: int | None):
    shape = (BATCH,) if k is None else (k, BATCH)
    cond = torch.zeros(*shape, COND)
    cond[..., 0] = 1
    return torch.randn(*shape, NOISE), cond, torch.rand(*shape, WIDTH)


class Sequential:
    def __init__(self, k: int):
        self.gs, self.ds = make_models(k)
        self.opts = [
            (torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.9), fused=True),
             torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.9), fused=True))
            for g, d in zip(self.gs, self.ds)
        ]

    def step(self):
        for g, d, (opt_g, opt_d) in zip(self.gs, self.ds, self.opts):
            noise, cond, real = batch_inputs(None)
            fake = g(torch.cat([noise, cond], 1))
            loss_d = d(fake.detach(), cond).mean() - d(real, cond).mean()
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            loss_g = -d(fake, cond).mean()
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()


class Batched:
    def __init__(self, k: int):
        gs, ds = make_models(k)
        self.k = k
        self.g_params, self.g_buffers = stack_module_state(gs)
        self.d_params, self.d_buffers = stack_module_state(ds)
        self.g_base = copy.deepcopy(gs[0]).to("meta")
        self.d_base = copy.deepcopy(ds[0]).to("meta")
        adam = {"lr": 2e-4, "betas": (0.5, 0.9), "fused": True}
        self.opt_g = torch.optim.Adam(list(self.g_params.values()), **adam)
        self.opt_d = torch.optim.Adam(list(self.d_params.values()), **adam)

        def generate(g_params, g_buffers, noise, cond):
            return functional_call(self.g_base, (g_params, g_buffers), (torch.cat([noise, cond], 1),))

        def critic(d_params, d_buffers, rows, cond):
            return functional_call(self.d_base, (d_params, d_buffers), (rows, cond))

        def loss_d(d_params, d_buffers, fake, real, cond):
            return critic(d_params, d_buffers, fake, cond).mean() - critic(d_params, d_buffers, real, cond).mean()

        def loss_g(g_params, g_buffers, d_params, d_buffers, noise, cond):
            fake = generate(g_params, g_buffers, noise, cond)
            return -critic(d_params, d_buffers, fake, cond).mean()

        self.generate = vmap(generate)
        self.grad_d = vmap(grad(loss_d))
        self.grad_g = vmap(grad(loss_g))

    def step(self):
        noise, cond, real = batch_inputs(self.k)
        with torch.no_grad():
            fake = self.generate(self.g_params, self.g_buffers, noise, cond)
        grads = self.grad_d(self.d_params, self.d_buffers, fake, real, cond)
        for name, value in self.d_params.items():
            value.grad = grads[name]
        self.opt_d.step()
        grads = self.grad_g(self.g_params, self.g_buffers, self.d_params, self.d_buffers, noise, cond)
        for name, value in self.g_params.items():
            value.grad = grads[name]
        self.opt_g.step()


def timed(runner, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        runner.step()
    return (time.perf_counter() - start) / steps * 1000


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k", nargs="+", type=int, default=[1, 2, 4, 8])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"CPU kind {torch.backends.cpu.get_cpu_capability()}, torch threads {torch.get_num_threads()}\n")
    print("| K | sequential ms / step | batched ms / step | models / s sequential | models / s batched | batched / sequential |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for k in args.k:
        runners = {"sequential": Sequential(k), "batched": Batched(k)}
        times = {name: [] for name in runners}
        for runner in runners.values():
            runner.step()  # warm-up
        for _ in range(args.rounds):
            for name, runner in runners.items():
                times[name].append(timed(runner, args.steps))
        seq, bat = (statistics.median(times[n]) for n in ("sequential", "batched"))
        print(f"| {k} | {seq:.1f} | {bat:.1f} | {k * 1000 / seq:.1f} | {k * 1000 / bat:.1f} | {seq / bat:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
