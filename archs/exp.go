package archs

import "math"

// expNeg returns e^x for x <= 0 in float32, to about 2 ulp: x = n*ln2 + r with
// |r| <= ln2/2, e^r by a degree-6 Taylor polynomial, scaled by 2^n through the
// exponent bits. Below -87 the result is 0 (float32 has nothing smaller that
// matters for a softmax).
func expNeg(x float32) float32 {
	if x < -87 {
		return 0
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693145751953125
		ln2lo = 1.428606765330187045e-06
	)
	n := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - n*ln2hi - n*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}
