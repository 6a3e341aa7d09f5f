// libFuzzer entry point of `make fuzz-front-ring`.

/// Called by libFuzzer once per input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FrontRingProperty.check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
