// Placeholder; replaced by the BlkifABI implementation.
