package loadtest

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histSub is the number of sub-buckets per power of two (2^histSubBits):
// with 16 a bucket is at most 1/16 of its value wide, so a percentile read
// at a bucket's middle is within ±3 %.
const (
	histSubBits = 4
	histSub     = 1 << histSubBits
	histBuckets = (64 - histSubBits + 1) * histSub // 0…15 exactly, then 16 per power of two up to 2^64
)

// hist is a fixed log-bucket histogram of durations in nanoseconds. Record
// is an atomic add and never allocates, so any number of readers can share
// one.
//
// Record touches one bucket counter (and reads the maximum): readers on
// different cores rarely write the same cache line. The count and the mean
// are derived from the buckets.
type hist struct {
	b   [histBuckets]atomic.Uint64
	max atomic.Uint64
}

func histBucket(v uint64) int {
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(v) - 1 // ≥ histSubBits
	return (e-histSubBits+1)*histSub + int((v>>(e-histSubBits))&(histSub-1))
}

// histValue is the middle of bucket i.
func histValue(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	e := i/histSub + histSubBits - 1
	s := uint64(i % histSub)
	shift := e - histSubBits
	lo := (histSub + s) << shift
	return lo + (uint64(1)<<shift)/2
}

// record adds one duration (negative ones, from clock steps, count as 0).
func (h *hist) record(d int64) {
	if d < 0 {
		d = 0
	}
	v := uint64(d)
	h.b[histBucket(v)].Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// quantile returns the q-quantile (0 < q ≤ 1), 0 when empty.
func (h *hist) quantile(q float64) time.Duration {
	n := h.count()
	if n == 0 {
		return 0
	}
	target := uint64(q*float64(n) + 0.999999)
	if target == 0 {
		target = 1
	}
	var seen uint64
	for i := range h.b {
		seen += h.b[i].Load()
		if seen >= target {
			v := histValue(i)
			if m := h.max.Load(); v > m {
				v = m
			}
			return time.Duration(v)
		}
	}
	return time.Duration(h.max.Load())
}

func (h *hist) count() uint64 {
	var n uint64
	for i := range h.b {
		n += h.b[i].Load()
	}
	return n
}

// mean is the mean of the bucket middles (within the buckets' ±3 %).
func (h *hist) mean() time.Duration {
	var n, sum float64
	for i := range h.b {
		if c := h.b[i].Load(); c > 0 {
			n += float64(c)
			sum += float64(c) * float64(histValue(i))
		}
	}
	if n == 0 {
		return 0
	}
	return time.Duration(sum / n)
}

// summary is a histogram's figures for a report.
type summary struct {
	Count uint64        `json:"count"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p999_ns"`
	Max   time.Duration `json:"max_ns"`
}

func (h *hist) summary() summary {
	return summary{
		Count: h.count(),
		Mean:  h.mean(),
		P50:   h.quantile(0.50),
		P90:   h.quantile(0.90),
		P99:   h.quantile(0.99),
		P999:  h.quantile(0.999),
		Max:   time.Duration(h.max.Load()),
	}
}
