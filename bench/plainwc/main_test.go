package main

import (
	"reflect"
	"strings"
	"testing"
)

// The tokenizer is examples/wordcount's: letters and apostrophes, lowercased.
func TestCount(t *testing.T) {
	got, err := count(strings.NewReader("It's a Dog's life,\r\na DOG'S life!\n\n42 élan--élan\nlast line without newline"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"it's": 1, "a": 2, "dog's": 2, "life": 2, "élan": 2, "last": 1, "line": 1, "without": 1, "newline": 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("count = %v, want %v", got, want)
	}
	if s := summarize(got); s.N != 9 || s.Total != 13 {
		t.Errorf("summarize: %d distinct, %d total; want 9, 13", s.N, s.Total)
	}
}
