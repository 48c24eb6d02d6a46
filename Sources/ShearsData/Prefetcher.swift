import Foundation

/// A single-producer, single-consumer bounded queue between a background thread and its consumer.
///
/// The producer blocks while `capacity` items wait; the consumer blocks while none does. `cancel()` (called
/// when the consumer goes away) wakes a blocked producer and makes every later `put` fail, so an abandoned
/// epoch frees its thread after at most the batch it is preparing — no thread is left parked forever.
final class PrefetchQueue<Item>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Item] = []
    private var head = 0
    private var finished = false
    private var cancelled = false
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0, "PrefetchQueue: capacity must be positive, got \(capacity)")
        self.capacity = capacity
    }

    /// Producer: waits for room, then enqueues. Returns false (dropping `item`) once cancelled.
    func put(_ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count - head >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// Producer: no more items will come.
    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Consumer: the next item, waiting for it; nil when the producer has finished and the queue is empty.
    func take() -> Item? {
        condition.lock()
        defer { condition.unlock() }
        while items.count == head && !finished { condition.wait() }
        guard head < items.count else { return nil }
        let item = items[head]
        head += 1
        if head == items.count { items.removeAll(keepingCapacity: true); head = 0 }
        condition.broadcast()
        return item
    }

    /// Consumer: stop the producer and drop what is queued.
    func cancel() {
        condition.lock()
        cancelled = true
        items.removeAll()
        head = 0
        condition.broadcast()
        condition.unlock()
    }

    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }
}

/// How many prefetching threads are running (for the test that abandoning an epoch frees its thread).
enum PrefetchThreads {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var running = 0

    static var count: Int { lock.lock(); defer { lock.unlock() }; return running }
    static func started() { lock.lock(); running += 1; lock.unlock() }
    static func ended() { lock.lock(); running -= 1; lock.unlock() }
}

/// Iterates items `make(i)` for `i` in `range`, in order, made either on a background thread `capacity`
/// items ahead (capacity > 0) or on demand in `next()` (capacity 0). `make` must be a pure function of `i`
/// for the two modes to agree, which is how the loader guarantees prefetching changes nothing.
final class PrefetchingIterator<Item>: IteratorProtocol {
    private let queue: PrefetchQueue<Item>?
    private var range: Range<Int>
    private let make: (Int) -> Item

    init(_ range: Range<Int>, capacity: Int, make: @escaping (Int) -> Item) {
        self.range = range
        self.make = make
        guard capacity > 0, !range.isEmpty else { queue = nil; return }
        let queue = PrefetchQueue<Item>(capacity: capacity)
        self.queue = queue
        // The thread holds the queue and `make`, never `self`: dropping the iterator runs `deinit`, which
        // cancels the queue and lets the thread end.
        PrefetchThreads.started()
        let thread = Thread {
            for i in range {
                if queue.isCancelled { break }
                if !queue.put(make(i)) { break }
            }
            queue.finish()
            PrefetchThreads.ended()
        }
        thread.name = "shears.data.prefetch"
        thread.start()
    }

    func next() -> Item? {
        if let queue { return queue.take() }
        guard let i = range.first else { return nil }
        range = range.dropFirst()
        return make(i)
    }

    deinit { queue?.cancel() }
}
