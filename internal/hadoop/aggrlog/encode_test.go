package aggrlog

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"math"
	"sort"
	"strconv"
)

// A small encoder of both formats for the tests, written from the same
// layout facts as the reader; the integration tests read the files real
// NodeManagers write.

type testLog struct {
	container, name, content string
}

func compress(algo string, b []byte) []byte {
	if algo != "gz" {
		return b
	}
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func writeString(out []byte, s string) []byte {
	out = writeVLong(out, int64(len(s)))
	return append(out, s...)
}

func javaUTFBytes(s string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(s)))
	return append(b, s...)
}

func appendRegion(out []byte, off, comp, raw int64) []byte {
	out = writeVLong(out, off)
	out = writeVLong(out, comp)
	return writeVLong(out, raw)
}

// encodeTFile writes logs as an aggregated log TFile: the reserved keys
// first, then one entry per container (perBlock entries to a data block),
// values in chunks of chunk bytes.
func encodeTFile(logs []testLog, algo string, perBlock, chunk int) []byte {
	type entry struct {
		key   string
		value []byte
	}
	entries := []entry{
		{"VERSION", binary.BigEndian.AppendUint32(nil, 1)},
		{"APPLICATION_OWNER", javaUTFBytes("alice")},
	}
	byContainer := map[string]int{}
	for _, l := range logs {
		i, ok := byContainer[l.container]
		if !ok {
			i = len(entries)
			byContainer[l.container] = i
			entries = append(entries, entry{key: l.container})
		}
		v := append(entries[i].value, javaUTFBytes(l.name)...)
		v = append(v, javaUTFBytes(strconv.Itoa(len(l.content)))...)
		entries[i].value = append(v, l.content...)
	}
	var file []byte
	var blocks [][3]int64
	var raw []byte
	flush := func() {
		if raw == nil {
			return
		}
		c := compress(algo, raw)
		blocks = append(blocks, [3]int64{int64(len(file)), int64(len(c)), int64(len(raw))})
		file = append(file, c...)
		raw = nil
	}
	for i, e := range entries {
		k := javaUTFBytes(e.key)
		raw = writeVLong(raw, int64(len(k)))
		raw = append(raw, k...)
		v := e.value
		for len(v) > chunk {
			raw = writeVLong(raw, -int64(chunk))
			raw = append(raw, v[:chunk]...)
			v = v[chunk:]
		}
		raw = writeVLong(raw, int64(len(v)))
		raw = append(raw, v...)
		if (i+1)%perBlock == 0 {
			flush()
		}
	}
	flush()
	type meta struct {
		name string
		reg  [3]int64
	}
	var metas []meta
	addMeta := func(name string, b []byte) {
		c := compress(algo, b)
		metas = append(metas, meta{name, [3]int64{int64(len(file)), int64(len(c)), int64(len(b))}})
		file = append(file, c...)
	}
	tm := []byte{0, 1, 0, 0}
	tm = writeVLong(tm, int64(len(entries)))
	addMeta(tfileMeta, writeString(tm, ""))
	addMeta("TFile.index", writeVLong(nil, 0))
	di := writeString(nil, algo)
	di = writeVLong(di, int64(len(blocks)))
	for _, b := range blocks {
		di = appendRegion(di, b[0], b[1], b[2])
	}
	addMeta(bcDataIndex, di)
	metaOff := len(file)
	file = writeVLong(file, int64(len(metas)))
	for _, m := range metas {
		file = writeString(file, bcMetaPrefix+m.name)
		file = writeString(file, algo)
		file = appendRegion(file, m.reg[0], m.reg[1], m.reg[2])
	}
	file = binary.BigEndian.AppendUint64(file, uint64(metaOff))
	file = append(file, 0, 1, 0, 0)
	return append(file, bcfileMagic...)
}

// jwriter writes the Java serialization stream of an IndexedLogsMeta.
type jwriter struct {
	b       []byte
	handles int
	strs    map[string]int
	classes map[string]int
}

func (w *jwriter) handle() int { w.handles++; return w.handles - 1 }

func (w *jwriter) str(s string) {
	if h, ok := w.strs[s]; ok {
		w.b = append(w.b, tcReference)
		w.b = binary.BigEndian.AppendUint32(w.b, uint32(baseWireHandle+h))
		return
	}
	w.b = append(w.b, tcString)
	w.b = append(w.b, javaUTFBytes(s)...)
	w.strs[s] = w.handle()
}

// class writes a class descriptor (a reference when written before):
// fields are "Iname" or "Lname:Ljava/lang/String;".
func (w *jwriter) class(name string, flags byte, fields ...string) {
	if h, ok := w.classes[name]; ok {
		w.b = append(w.b, tcReference)
		w.b = binary.BigEndian.AppendUint32(w.b, uint32(baseWireHandle+h))
		return
	}
	w.b = append(w.b, tcClassDesc)
	w.b = append(w.b, javaUTFBytes(name)...)
	w.b = binary.BigEndian.AppendUint64(w.b, 42)
	w.classes[name] = w.handle()
	w.b = append(w.b, flags)
	w.b = binary.BigEndian.AppendUint16(w.b, uint16(len(fields)))
	for _, f := range fields {
		fname, typ, _ := bytes.Cut([]byte(f[1:]), []byte(":"))
		w.b = append(w.b, f[0])
		w.b = append(w.b, javaUTFBytes(string(fname))...)
		if f[0] == 'L' || f[0] == '[' {
			w.str(string(typ))
		}
	}
	w.b = append(w.b, tcEndBlockData, tcNull) // no annotation, no superclass
}

func (w *jwriter) i32(v int32) { w.b = binary.BigEndian.AppendUint32(w.b, uint32(v)) }
func (w *jwriter) i64(v int64) { w.b = binary.BigEndian.AppendUint64(w.b, uint64(v)) }

func (w *jwriter) arrayList(n int, elems func(i int)) {
	w.b = append(w.b, tcObject)
	w.class("java.util.ArrayList", scSerializable|scWriteMethod, "Isize")
	w.handle()
	w.i32(int32(n))
	w.b = append(w.b, tcBlockData, 4)
	w.i32(int32(n))
	for i := 0; i < n; i++ {
		elems(i)
	}
	w.b = append(w.b, tcEndBlockData)
}

type ifileEntry struct {
	testLog
	start, compressed int64
}

func (w *jwriter) indexedLogsMeta(nodeID, algo string, entries []ifileEntry) {
	const pkg = "org.apache.hadoop.yarn.logaggregation.filecontroller.ifile.LogAggregationIndexedFileController$"
	w.b = append(w.b, tcObject)
	w.class(pkg+"IndexedLogsMeta", scSerializable, "Iversion", "Lacls:Ljava/util/Map;", "LcompressName:Ljava/lang/String;",
		"LlogMetas:Ljava/util/List;", "LnodeId:Ljava/lang/String;", "Luser:Ljava/lang/String;")
	w.handle()
	w.i32(1)
	w.b = append(w.b, tcNull) // acls
	w.str(algo)
	w.arrayList(1, func(int) {
		w.b = append(w.b, tcObject)
		w.class(pkg+"IndexedPerAggregationLogMeta", scSerializable, "JuploadTimeStamp", "LlogMetas:Ljava/util/Map;", "LremoteNodeLogFileName:Ljava/lang/String;")
		w.handle()
		w.i64(1733300000000)
		// HashMap: loadFactor, threshold; capacity and size; keys and values.
		byContainer := map[string][]ifileEntry{}
		for _, e := range entries {
			byContainer[e.container] = append(byContainer[e.container], e)
		}
		var ids []string
		for id := range byContainer {
			ids = append(ids, id)
		}
		sort.Sort(sort.Reverse(sort.StringSlice(ids))) // not in order, as a HashMap's
		w.b = append(w.b, tcObject)
		w.class("java.util.HashMap", scSerializable|scWriteMethod, "FloadFactor", "Ithreshold")
		w.handle()
		w.b = binary.BigEndian.AppendUint32(w.b, math.Float32bits(0.75))
		w.i32(12)
		w.b = append(w.b, tcBlockData, 8)
		w.i32(16)
		w.i32(int32(len(ids)))
		for _, id := range ids {
			w.str(id)
			files := byContainer[id]
			w.arrayList(len(files), func(i int) {
				e := files[i]
				w.b = append(w.b, tcObject)
				w.class(pkg+"IndexedFileLogMeta", scSerializable, "JfileCompressedSize", "JfileSize", "JlastModifiedTime", "JstartIndex",
					"LcontainerId:Ljava/lang/String;", "LfileName:Ljava/lang/String;")
				w.handle()
				w.i64(e.compressed)
				w.i64(int64(len(e.content)))
				w.i64(1733300000123)
				w.i64(e.start)
				w.str(e.container)
				w.str(e.name)
			})
		}
		w.b = append(w.b, tcEndBlockData)
		w.str("host_1234")
	})
	w.str(nodeID)
	w.str("alice")
}

// encodeIFile writes logs as an IndexedFormat file of appID.
func encodeIFile(appID string, logs []testLog, algo string) []byte {
	uuid := ifileUUID(appID)
	file := append([]byte{}, uuid...)
	var entries []ifileEntry
	for _, l := range logs {
		c := compress(algo, []byte(l.content))
		entries = append(entries, ifileEntry{l, int64(len(file)), int64(len(c))})
		file = append(file, c...)
	}
	w := &jwriter{strs: map[string]int{}, classes: map[string]int{}}
	w.b = []byte{0xac, 0xed, 0, 5}
	w.indexedLogsMeta("host:1234", algo, entries)
	file = append(file, w.b...)
	file = binary.BigEndian.AppendUint32(file, uint32(len(w.b)))
	return append(file, uuid...)
}
