"""A bit-exact Python port of seedrandom's default generator (ARC4), the reference path.

rugs.fun draws every game from `seedrandom(serverSeed + "-" + gameId)`, David Bau's JavaScript
library (npm `seedrandom` 3.0.5, `seedrandom.js`, the default export). This module reproduces
its output to the last bit, in plain Python, so that it can be read and audited line by line;
`rugslab.fair.fast` is the compiled twin and is tested equal to it.

The pitfalls (all reproduced here, see `../shared/PROTOCOL.md`):

- the key is built from the seed's UTF-16 code units (`charCodeAt`), each masked to 8 bits,
  not from UTF-8 bytes;
- a seed longer than 256 code units wraps around the 256-entry key and is mixed in with
  `smear ^= key[j] * 19` (`mixkey`);
- the ARC4 keystream drops its first 256 bytes (RC4-drop[256]);
- a double takes 6 bytes (a numerator below 2^48), then keeps adding one byte while the
  numerator is below 2^52 (so every draw uses at least 7 bytes), then shifts right until it is
  below 2^53 and divides: the result has 53 significant bits and lies in [0, 1).

Source: https://github.com/davidbau/seedrandom/blob/released/seedrandom.js
"""

from __future__ import annotations

import numpy as np

WIDTH = 256  # bytes per ARC4 state; also the numeric base of one draw step
CHUNKS = 6  # bytes in a draw's first numerator
START_DENOM = float(WIDTH**CHUNKS)  # 2^48
SIGNIFICANCE = float(2**52)
OVERFLOW = float(2**53)
MASK = WIDTH - 1


def utf16_units(seed: str) -> np.ndarray:
    """The UTF-16 code units of `seed` as JavaScript's `charCodeAt` sees them.

    Args:
        seed: any Python string; characters outside the BMP become two surrogate units.
            Lone surrogates (which Python strings may hold) are kept as one unit.

    Returns:
        uint16 array, one entry per code unit (`len(seed)` + number of astral characters).
    """
    return np.frombuffer(seed.encode("utf-16-le", "surrogatepass"), dtype="<u2").astype(np.uint16)


def mix_key(seed: str) -> list[int]:
    """seedrandom's `mixkey(seed, [])`: the ARC4 key bytes for a string seed.

    Args:
        seed: the seed string (for rugs.fun: `serverSeed + "-" + gameId`).

    Returns:
        A list of `min(256, n_units)` ints in 0..255 (empty for the empty seed).

    Source: `mixkey` in seedrandom.js. The first pass over the key writes `charCode & 255`
    (JavaScript's `undefined * 19` is NaN, which `^=` turns into 0); from unit 256 on,
    `smear ^= key[j & 255] * 19` and `key[j & 255] = (smear + charCode) & 255`.
    """
    key: list[int] = []
    smear = 0
    for j, unit in enumerate(utf16_units(seed).tolist()):
        slot = j & MASK
        if slot < len(key):
            smear ^= key[slot] * 19
            key[slot] = (smear + unit) & MASK
        else:
            key.append((smear + unit) & MASK)
    return key


class ARC4:
    """seedrandom's ARC4 keystream, already advanced past its first 256 bytes.

    Args:
        key: key bytes from `mix_key` (an empty key behaves as `[0]`, as in seedrandom).
    """

    __slots__ = ("i", "j", "s")

    def __init__(self, key: list[int]) -> None:
        if not key:
            key = [0]
        keylen = len(key)
        s = list(range(WIDTH))
        j = 0
        for i in range(WIDTH):
            t = s[i]
            j = (j + key[i % keylen] + t) & MASK
            s[i] = s[j]
            s[j] = t
        self.s = s
        self.i = 0
        self.j = 0
        self.bytes(WIDTH)  # RC4-drop[256]

    def bytes(self, count: int) -> int:
        """The next `count` keystream bytes as one big-endian integer (`arc4.g(count)`)."""
        s, i, j = self.s, self.i, self.j
        r = 0
        for _ in range(count):
            i = (i + 1) & MASK
            t = s[i]
            j = (j + t) & MASK
            s[i] = s[j]
            s[j] = t
            r = r * WIDTH + s[(s[i] + t) & MASK]
        self.i, self.j = i, j
        return r


class SeedRandom:
    """`seedrandom(seed)`: a callable giving doubles in [0, 1), equal bit for bit to the JS one.

    Args:
        seed: the seed string. Only strings are accepted (seedrandom would stringify other
            values; rugs.fun always passes a string).

    Raises:
        TypeError: `seed` is not a `str`.

    Example:
        >>> rng = SeedRandom("hello.")
        >>> rng(), rng()
        (0.9282578795792454, 0.3752569768646784)
    """

    __slots__ = ("_arc4",)

    def __init__(self, seed: str) -> None:
        if not isinstance(seed, str):
            raise TypeError(f"seed must be a str, got {type(seed).__name__}: {seed!r}")
        self._arc4 = ARC4(mix_key(seed))

    def __call__(self) -> float:
        """The next double in [0, 1) (53 significant bits)."""
        g = self._arc4.bytes
        n = g(CHUNKS)
        d = START_DENOM
        x = 0
        # Python ints hold what the JS doubles hold exactly: n < 2^60 and, once the first
        # loop ran, a multiple of 256, so at most 7 halvings keep it even and `>> 1` equals
        # JS's `n / 2`; n + x < 2^53 converts to float exactly before the division.
        while n < SIGNIFICANCE:
            n = (n + x) * WIDTH
            d *= WIDTH
            x = g(1)
        while n >= OVERFLOW:
            n >>= 1
            d /= 2
            x >>= 1
        return (n + x) / d

    random = __call__
