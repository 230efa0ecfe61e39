"""What the layers above share: per-PE memory contents, the load-word and UART byte protocols, and the sizes of
every field."""
