package transform

import "container/list"

// lru holds compiled units, least recently used first out. An interpreter
// with a typical compiled script takes about 150 KiB of heap, so the bound
// is what keeps a worker's memory flat however many scripts owners upload.
// It is not safe for concurrent use: each runner owns one.
type lru struct {
	max   int
	order *list.List // of *lruEntry, front = most recent
	byKey map[string]*list.Element
}

type lruEntry struct {
	key string
	u   *unit
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), byKey: make(map[string]*list.Element)}
}

func (c *lru) get(key string) *unit {
	el, ok := c.byKey[key]
	if !ok {
		return nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruEntry).u
}

func (c *lru) put(key string, u *unit) {
	if el, ok := c.byKey[key]; ok {
		el.Value.(*lruEntry).u = u
		c.order.MoveToFront(el)
		return
	}
	c.byKey[key] = c.order.PushFront(&lruEntry{key, u})
	for c.order.Len() > c.max {
		c.remove(c.order.Back().Value.(*lruEntry).key)
	}
}

func (c *lru) remove(key string) {
	if el, ok := c.byKey[key]; ok {
		c.order.Remove(el)
		delete(c.byKey, key)
	}
}

func (c *lru) len() int { return c.order.Len() }
