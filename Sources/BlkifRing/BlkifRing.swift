// Placeholder; replaced by the BlkifRing implementation.
