import CDNNL
import Foundation

/// Thin Swift layer over oneDNN 2.6's C API: one CPU engine and stream, memory descriptors from shapes,
/// primitives created once per shape and kept in a cache (creating one costs far more than running it).
enum DNNL {
    static let engine: dnnl_engine_t = {
        var e: dnnl_engine_t?
        check(dnnl_engine_create(&e, dnnl_cpu, 0), "creating the CPU engine")
        return e!
    }()

    static let stream: dnnl_stream_t = {
        var s: dnnl_stream_t?
        check(dnnl_stream_create(&s, engine, dnnl_stream_default_flags.rawValue), "creating the CPU stream")
        return s!
    }()

    static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
        if status != dnnl_success {
            let name = String(cString: dnnl_status2str(status))
            fatalError("oneDNN failed (\(name)) while \(what())")
        }
    }

    /// oneDNN dims as a Swift array (passed where the C API takes `const dnnl_dims_t`).
    static func dims(_ v: [Int]) -> [Int64] { v.map(Int64.init) }

    static func md(_ shape: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var m = dnnl_memory_desc_t()
        check(dnnl_memory_desc_init_by_tag(&m, Int32(shape.count), dims(shape), dnnl_f32, tag), "describing memory \(shape)")
        return m
    }

    /// The plain tag oneDNN uses for a tensor of this rank and format.
    static func tag(for t: Tensor) -> dnnl_format_tag_t { tag(rank: t.rank, format: t.format) }

    static func tag(rank: Int, format: MemoryFormat) -> dnnl_format_tag_t {
        switch (rank, format) {
        case (4, .channelsLast): return dnnl_nhwc
        case (4, _): return dnnl_nchw
        case (2, _): return dnnl_nc
        case (1, _): return dnnl_a
        default: fatalError("oneDNN: no plain layout for rank \(rank)")
        }
    }

    static func equal(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
        var a = a, b = b
        return dnnl_memory_desc_equal(&a, &b) != 0
    }

    static func byteSize(_ m: dnnl_memory_desc_t) -> Int {
        var m = m
        return dnnl_memory_desc_get_size(&m)
    }

    // MARK: primitive cache

    nonisolated(unsafe) static var cache: [String: AnyObject] = [:]
    static let cacheLock = NSLock()

    /// The cached object for `key`, made by `make` on first use.
    static func cached<T: AnyObject>(_ key: String, _ make: () -> T) -> T {
        cacheLock.lock(); defer { cacheLock.unlock() }
        if let hit = cache[key] as? T { return hit }
        let made = make()
        cache[key] = made
        return made
    }
}

/// A oneDNN primitive with its descriptor: the unit the kernels cache and execute.
final class DNNLPrimitive {
    let pd: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t

    /// `opDesc` points at a filled-in op descriptor (dnnl_convolution_desc_t, …).
    init(opDesc: UnsafeRawPointer, hint: dnnl_primitive_desc_t? = nil, attr: dnnl_primitive_attr_t? = nil, what: String) {
        var pd: dnnl_primitive_desc_t?
        DNNL.check(dnnl_primitive_desc_create(&pd, opDesc, attr, DNNL.engine, hint),
                   "creating the primitive descriptor for \(what)")
        var p: dnnl_primitive_t?
        DNNL.check(dnnl_primitive_create(&p, pd), "creating the primitive for \(what)")
        self.pd = pd!
        self.primitive = p!
    }

    /// A reorder between two memory layouts.
    init(reorderFrom src: dnnl_memory_desc_t, to dst: dnnl_memory_desc_t) {
        var pd: dnnl_primitive_desc_t?
        var s = src, d = dst
        DNNL.check(dnnl_reorder_primitive_desc_create(&pd, &s, DNNL.engine, &d, DNNL.engine, nil), "creating a reorder")
        var p: dnnl_primitive_t?
        DNNL.check(dnnl_primitive_create(&p, pd), "creating a reorder primitive")
        self.pd = pd!
        self.primitive = p!
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(pd)
    }

    /// The memory descriptor this primitive chose for `query` (e.g. dnnl_query_weights_md).
    func md(_ query: dnnl_query_t, _ index: Int32 = 0) -> dnnl_memory_desc_t {
        guard let p = dnnl_primitive_desc_query_md(pd, query, index) else { return dnnl_memory_desc_t() }
        return p.pointee
    }

    /// The implementation oneDNN picked (e.g. "jit:avx2"), for benchmarks and diagnostics.
    var implementation: String {
        var s: UnsafePointer<CChar>?
        withUnsafeMutablePointer(to: &s) { ptr in
            _ = dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, UnsafeMutableRawPointer(ptr))
        }
        return s.map { String(cString: $0) } ?? "?"
    }

    /// Runs the primitive on raw buffers: each argument is (DNNL_ARG_*, its descriptor, its data).
    func execute(_ args: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)]) {
        var mems: [dnnl_memory_t?] = []
        mems.reserveCapacity(args.count)
        var execArgs: [dnnl_exec_arg_t] = []
        for (arg, desc, ptr) in args {
            var m: dnnl_memory_t?
            var d = desc
            DNNL.check(dnnl_memory_create(&m, &d, DNNL.engine, ptr), "wrapping a buffer for argument \(arg)")
            mems.append(m)
            execArgs.append(dnnl_exec_arg_t(arg: arg, memory: m))
        }
        DNNL.check(dnnl_primitive_execute(primitive, DNNL.stream, Int32(execArgs.count), &execArgs), "executing \(implementation)")
        DNNL.check(dnnl_stream_wait(DNNL.stream), "waiting for the stream")
        for m in mems { dnnl_memory_destroy(m) }
    }
}

/// Primitive attributes carrying one eltwise post-op (e.g. a ReLU applied to a primitive's output in place).
func eltwisePostOpAttr(_ alg: dnnl_alg_kind_t) -> dnnl_primitive_attr_t {
    var ops: dnnl_post_ops_t?
    DNNL.check(dnnl_post_ops_create(&ops), "creating post-ops")
    DNNL.check(dnnl_post_ops_append_eltwise(ops, 1, alg, 0, 0), "appending an eltwise post-op")
    var attr: dnnl_primitive_attr_t?
    DNNL.check(dnnl_primitive_attr_create(&attr), "creating primitive attributes")
    DNNL.check(dnnl_primitive_attr_set_post_ops(attr, ops), "setting post-ops")
    dnnl_post_ops_destroy(ops)
    return attr!
}

/// A scratch buffer sized for a oneDNN memory descriptor (blocked weights, workspaces).
final class DNNLBuffer {
    let desc: dnnl_memory_desc_t
    let pointer: UnsafeMutableRawPointer
    init(_ desc: dnnl_memory_desc_t) {
        self.desc = desc
        var raw: UnsafeMutableRawPointer?
        _ = posix_memalign(&raw, 64, max(DNNL.byteSize(desc), 64))
        pointer = raw!
    }
    deinit { free(pointer) }
}

/// A primitive's arguments wrapped once as oneDNN memory objects: each call only points them at its buffers
/// (`InferencePlan`'s steps run the same shapes every call; creating and destroying the memory objects each time
/// costs microseconds per op, which batch-1 inference notices).
final class DNNLBoundCall {
    let primitive: DNNLPrimitive
    private var memories: [dnnl_memory_t?] = []
    private var args: [dnnl_exec_arg_t] = []

    init(_ primitive: DNNLPrimitive, _ arguments: [(Int32, dnnl_memory_desc_t)]) {
        self.primitive = primitive
        for (arg, desc) in arguments {
            var m: dnnl_memory_t?
            var d = desc
            DNNL.check(dnnl_memory_create(&m, &d, DNNL.engine, nil), "creating memory for argument \(arg)")
            memories.append(m)
            args.append(dnnl_exec_arg_t(arg: arg, memory: m))
        }
    }

    deinit { for m in memories { dnnl_memory_destroy(m) } }

    /// Runs the primitive with argument i at `pointers[i]`, in the order of `init`'s arguments.
    func execute(_ pointers: [UnsafeMutableRawPointer]) {
        for (m, p) in zip(memories, pointers) { DNNL.check(dnnl_memory_set_data_handle(m, p), "pointing an argument at its buffer") }
        DNNL.check(dnnl_primitive_execute(primitive.primitive, DNNL.stream, Int32(args.count), &args),
                   "executing \(primitive.implementation)")
        DNNL.check(dnnl_stream_wait(DNNL.stream), "waiting for the stream")
    }
}
