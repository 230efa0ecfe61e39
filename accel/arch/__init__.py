"""The architecture vocabulary: config, compressed-layer format, PE memory images, fixed point, energy table.

It imports nothing else of the project; every other package builds on it."""
