"""Assets in layers: raw -> staged -> indicators -> profiles -> published."""
