package main

import "testing"

func TestQuartiles(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want [3]float64
	}{
		{nil, [3]float64{}},
		{[]float64{90}, [3]float64{90, 90, 90}},
		{[]float64{3, 1, 2}, [3]float64{1.5, 2, 2.5}},
		{[]float64{88, 84, 93, 90}, [3]float64{87, 89, 90.75}},
		{[]float64{5, 1, 4, 2, 3}, [3]float64{2, 3, 4}},
	} {
		if got := quartiles(c.in); got != c.want {
			t.Errorf("quartiles(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
