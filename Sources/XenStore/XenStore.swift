// Placeholder; replaced by the XenStore implementation.
