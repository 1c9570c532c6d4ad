package registry

import (
	"bufio"
	"fmt"
	"iter"
	"reflect"
)

func newType[T any](name string, rt reflect.Type) *Type {
	return &Type{
		Name:  name,
		RType: rt,
		Decode: func(data []byte) (any, int64, error) {
			recs, err := DecodeSlice[T](data)
			if err != nil {
				return nil, 0, err
			}
			return SliceSeq(recs), int64(len(recs)), nil
		},
		Encode: func(seq any) ([]byte, error) {
			var recs []T
			for r := range seq.(iter.Seq[T]) {
				recs = append(recs, r)
			}
			return EncodeSlice(recs)
		},
		Count: func(seq any) int64 {
			var n int64
			for range seq.(iter.Seq[T]) {
				n++
			}
			return n
		},
		Watch: func(seq any, stop func() bool, n *int64) any {
			src := seq.(iter.Seq[T])
			return iter.Seq[T](func(yield func(T) bool) {
				for r := range src {
					*n++
					if *n&1023 == 0 && stop() {
						return
					}
					if !yield(r) {
						return
					}
				}
			})
		},
		WriteText: writeText[T],
		Concat: func(parts []func() (any, error)) any {
			return iter.Seq[T](func(yield func(T) bool) {
				for _, open := range parts {
					seq, err := open()
					if err != nil {
						Abort(err)
					}
					s, err := Seq[T](seq)
					if err != nil {
						Abort(err)
					}
					for r := range s {
						if !yield(r) {
							return
						}
					}
				}
			})
		},
		Cache: func(seq any, done func([]byte, error)) any {
			src := seq.(iter.Seq[T])
			return iter.Seq[T](func(yield func(T) bool) {
				var recs []T
				for r := range src {
					recs = append(recs, r)
					if !yield(r) {
						return
					}
				}
				done(EncodeSlice(recs))
			})
		},
	}
}

func writeText[T any](seq any, w *bufio.Writer) (int64, error) {
	var size int64
	src := seq.(iter.Seq[T])
	if strs, ok := any(src).(iter.Seq[string]); ok {
		for s := range strs {
			n, _ := w.WriteString(s)
			if err := w.WriteByte('\n'); err != nil {
				return size, err
			}
			size += int64(n) + 1
		}
		return size, nil
	}
	for r := range src {
		n, err := fmt.Fprintln(w, r)
		if err != nil {
			return size, err
		}
		size += int64(n)
	}
	return size, nil
}

// SliceSeq is a partition held in a slice.
func SliceSeq[T any](recs []T) iter.Seq[T] {
	return func(yield func(T) bool) {
		for _, r := range recs {
			if !yield(r) {
				return
			}
		}
	}
}

// Seq returns a partition held in an any as its typed sequence, or an
// error naming both types when it holds another.
func Seq[T any](seq any) (iter.Seq[T], error) {
	s, ok := seq.(iter.Seq[T])
	if !ok {
		return nil, fmt.Errorf("partition is %T, want records of %s", seq, reflect.TypeFor[T]())
	}
	return s, nil
}

// Abort ends a task from inside a record iterator, which cannot return an
// error: the executor recovers the panic and fails the task with err.
func Abort(err error) { panic(AbortError{err}) }

// AbortError carries an error out of a record iterator (see Abort).
type AbortError struct{ Err error }

func (e AbortError) Error() string { return e.Err.Error() }
