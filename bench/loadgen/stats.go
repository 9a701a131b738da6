package main

import (
	"bytes"
	"math"
	"math/bits"
	"sync/atomic"
)

// seqCounter checks one receiver's stream of sequence numbers 0..k-1:
// every number must arrive exactly once, in increasing order. It is used by
// a single goroutine; unique may be read concurrently.
type seqCounter struct {
	k      int64
	seen   []uint64 // bitset of received sequence numbers
	max    int64    // highest sequence number received so far
	unique atomic.Int64
	dup    int64       // numbers received more than once
	ooo    int64       // numbers received after a higher one
	bad    int64       // numbers outside 0..k-1 (or unparsable)
	done   atomic.Bool // for the caller: completion was signaled
}

func newSeqCounter(k int) *seqCounter {
	return &seqCounter{k: int64(k), seen: make([]uint64, (k+63)/64), max: -1}
}

// add records one received sequence number and reports whether it was new.
func (c *seqCounter) add(seq int64) bool {
	if seq < 0 || seq >= c.k {
		c.bad++
		return false
	}
	w, b := seq>>6, uint64(1)<<(seq&63)
	if c.seen[w]&b != 0 {
		c.dup++
		return false
	}
	c.seen[w] |= b
	c.unique.Add(1)
	if seq < c.max {
		c.ooo++
	} else {
		c.max = seq
	}
	return true
}

// truncate lowers k to n, the count actually sent when the sender stopped
// early; no number of n or above can have arrived. Not concurrent with add.
func (c *seqCounter) truncate(n int64) {
	if n >= 0 && n < c.k {
		c.k = n
	}
}

// lost is how many of 0..k-1 never arrived.
func (c *seqCounter) lost() int64 { return c.k - c.unique.Load() }

// complete reports whether every number arrived.
func (c *seqCounter) complete() bool { return c.unique.Load() == c.k }

// tally sums the counters of many receivers.
type tally struct {
	Deliveries int64 // unique deliveries
	Lost       int64
	Duplicates int64
	OutOfOrder int64
	Bad        int64
}

func (t *tally) add(c *seqCounter) {
	t.Deliveries += c.unique.Load()
	t.Lost += c.lost()
	t.Duplicates += c.dup
	t.OutOfOrder += c.ooo
	t.Bad += c.bad
}

// histogram is a log-linear latency histogram of nanosecond values:
// exact below 128 ns, then 64 buckets per power of two (under 1.6% error),
// saturating at about 137 s. Not safe for concurrent use: give each
// goroutine its own and merge them.
type histogram struct {
	counts [histBuckets]uint32
	n      int64
	max    int64
}

const (
	histSub     = 64
	histMaxBits = 37
	histBuckets = 2*histSub + (histMaxBits-7)*histSub
)

func histIndex(v int64) int {
	if v < 2*histSub {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	l := bits.Len64(uint64(v))
	if l > histMaxBits {
		return histBuckets - 1
	}
	shift := l - 7 // v>>shift is in [64, 128)
	return 2*histSub + (shift-1)*histSub + int(v>>shift) - histSub
}

// histValue is the midpoint of bucket i.
func histValue(i int) int64 {
	if i < 2*histSub {
		return int64(i)
	}
	j := i - 2*histSub
	shift := j/histSub + 1
	lo := int64(j%histSub+histSub) << shift
	return lo + (int64(1)<<shift)/2
}

func (h *histogram) record(v int64) {
	h.counts[histIndex(v)]++
	h.n++
	if v > h.max {
		h.max = v
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	if o.max > h.max {
		h.max = o.max
	}
}

// quantile returns the value at quantile q (0..1), in nanoseconds.
func (h *histogram) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for i, c := range h.counts {
		seen += int64(c)
		if seen >= rank {
			v := histValue(i)
			if v > h.max {
				v = h.max
			}
			return v
		}
	}
	return h.max
}

// Payloads carry a sequence number and a send timestamp as fixed-width
// decimal strings, so a frame can be pre-encoded once and patched in place,
// and a receiver finds them without decoding JSON:
//
//	{"q":"0000000042","t":"0000000001234567890","p":"xxxx…"}
const (
	seqDigits = 10
	tsDigits  = 19
)

var (
	seqKey = []byte(`"q":"`)
	tsKey  = []byte(`"t":"`)
)

// payloadTemplate is an outgoing packet with a patchable payload.
type payloadTemplate struct {
	buf        []byte
	seqOff     int
	tsOff      int
	payloadLen int
}

// newPayloadTemplate builds prefix + payload + suffix with a payload of
// about size bytes.
func newPayloadTemplate(prefix, suffix string, size int) *payloadTemplate {
	b := []byte(prefix)
	start := len(b)
	b = append(b, `{"q":"`...)
	seqOff := len(b)
	b = append(b, bytes.Repeat([]byte{'0'}, seqDigits)...)
	b = append(b, `","t":"`...)
	tsOff := len(b)
	b = append(b, bytes.Repeat([]byte{'0'}, tsDigits)...)
	b = append(b, `","p":"`...)
	pad := size - (len(b) - start) - 2
	for i := 0; i < pad; i++ {
		b = append(b, 'a'+byte(i%26))
	}
	b = append(b, `"}`...)
	plen := len(b) - start
	b = append(b, suffix...)
	return &payloadTemplate{buf: b, seqOff: seqOff, tsOff: tsOff, payloadLen: plen}
}

// fill writes seq and ts into the template and returns it.
func (p *payloadTemplate) fill(seq, ts int64) []byte {
	putDigits(p.buf[p.seqOff:p.seqOff+seqDigits], seq)
	putDigits(p.buf[p.tsOff:p.tsOff+tsDigits], ts)
	return p.buf
}

func putDigits(dst []byte, v int64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}

// extract finds the sequence number and timestamp in a received packet.
func extract(pkt []byte) (seq, ts int64, ok bool) {
	seq, ok = field(pkt, seqKey, seqDigits)
	if !ok {
		return 0, 0, false
	}
	ts, ok = field(pkt, tsKey, tsDigits)
	return seq, ts, ok
}

func field(pkt, key []byte, n int) (int64, bool) {
	i := bytes.Index(pkt, key)
	if i < 0 || i+len(key)+n > len(pkt) {
		return 0, false
	}
	var v int64
	for _, c := range pkt[i+len(key) : i+len(key)+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}
