"""EIE accelerator vocabulary: architecture config, compressed-layer format, PE memory images, energy."""
