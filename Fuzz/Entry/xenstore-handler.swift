// libFuzzer entry point of `make fuzz-xenstore-handler`.

/// Called by libFuzzer once per input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    WireHandlerProperty.check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
