/// A FIFO with a fast path for putting work back at the front (a dead
/// worker's calls go first again). Confined to one loop thread.
struct CallQueue<Element> {
    private var front: [Element] = []  // stack: last element is the head
    private var back: [Element] = []
    private var head = 0

    var count: Int { front.count + back.count - head }
    var isEmpty: Bool { count == 0 }

    mutating func append(_ element: Element) { back.append(element) }

    mutating func pushFront(_ element: Element) { front.append(element) }

    mutating func popFirst() -> Element? {
        if let element = front.popLast() { return element }
        guard head < back.count else { return nil }
        let element = back[head]
        head += 1
        if head > 1024, head * 2 > back.count {
            back.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Removes and returns the elements matching `predicate`, keeping order.
    mutating func removeAll(where predicate: (Element) -> Bool) -> [Element] {
        var removed: [Element] = []
        var kept: [Element] = []
        for element in front.reversed() + back[head...] {
            if predicate(element) { removed.append(element) } else { kept.append(element) }
        }
        front = []
        back = kept
        head = 0
        return removed
    }

    func forEach(_ body: (Element) -> Void) {
        for element in front.reversed() { body(element) }
        for element in back[head...] { body(element) }
    }
}
