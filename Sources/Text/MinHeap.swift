/// A binary min-heap: `pop` returns the smallest element by `<`.
///
/// The tokenizer pops merge candidates by (rank, position) and the BPE trainer pops pairs by priority; both rely on
/// the same push order giving the same pop order, which keeps encoding and training deterministic.
struct MinHeap<Element: Comparable> {
    private var storage: [Element] = []

    mutating func push(_ value: Element) {
        storage.append(value)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard storage[child] < storage[parent] else { break }
            storage.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard let top = storage.first else { return nil }
        let last = storage.removeLast()
        if !storage.isEmpty {
            storage[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < storage.count, storage[left] < storage[smallest] { smallest = left }
                if right < storage.count, storage[right] < storage[smallest] { smallest = right }
                if smallest == parent { break }
                storage.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
    }
}
