"""What a critic step costs, and two ways to cut it (issue 16, item 2).

Run (from the repository root)::

    OMP_NUM_THREADS=1 python benchmarks/critic_step.py
    python benchmarks/critic_step.py --width 220 --rounds 3     # a wider encoded row

One WGAN-GP critic step of the tables' default networks (batch 500, pac 1,
256-256 packed discriminator with the class projection; the encoded row
``--width`` wide plus a 12-wide condition), timed three ways, alternating in one
process so that they share the machine's state (medians of ``--rounds``
rounds of 20 steps):

* ``separate`` (the package's step): real and generated rows scored in two
  forward passes, then the gradient penalty on their interpolates;
* ``concatenated``: real and generated rows scored in one forward pass of
  twice the rows (the discriminator has no batch statistics, so the scores
  are the same);
* ``no penalty``: the step without the gradient penalty, i.e. what the
  penalty's forward pass and double backward cost.

Prints milliseconds per step and the CPU kind.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from gan_augment.losses import gradient_penalty
from gan_augment.tabular.networks import Discriminator, initialise


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=100, help="encoded row width")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    rng = torch.Generator().manual_seed(0)
    b, n_cond = args.batch, 12
    critic = initialise(Discriminator(args.width + n_cond, (256, 256), 1, 2),
                        torch.device("cpu"), rng)
    opt = torch.optim.Adam(critic.parameters(), 2e-4, betas=(0.5, 0.9), fused=True)
    real, fake = torch.randn(b, args.width), torch.randn(b, args.width)
    cond = torch.zeros(b, n_cond)
    cond[:, 0] = 1
    both_cond = torch.cat([cond, cond])

    def step(loss: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def separate() -> None:
        loss = critic(fake, cond).mean() - critic(real, cond).mean()
        step(loss + 10 * gradient_penalty(critic, real, fake, cond, 1, rng))

    def concatenated() -> None:
        scores = critic(torch.cat([real, fake]), both_cond)
        loss = scores[b:].mean() - scores[:b].mean()
        step(loss + 10 * gradient_penalty(critic, real, fake, cond, 1, rng))

    def no_penalty() -> None:
        step(critic(fake, cond).mean() - critic(real, cond).mean())

    ways = {"separate": separate, "concatenated": concatenated, "no penalty": no_penalty}
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, way in ways.items():
            start = time.perf_counter()
            for _ in range(20):
                way()
            times[name].append((time.perf_counter() - start) / 20 * 1000)
    base = statistics.median(times["separate"])
    print(f"CPU kind {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} "
          f"thread(s); batch {b}, encoded width {args.width}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:13s} {median:7.2f} ms / step  ({median / base:.2f}x the package's step)")


if __name__ == "__main__":
    main()
