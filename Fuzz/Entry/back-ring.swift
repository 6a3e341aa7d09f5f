// libFuzzer entry point of `make fuzz-back-ring`.

/// Called by libFuzzer once per input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    BackRingProperty.check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
