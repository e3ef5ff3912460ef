package sync

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/marquee-proxy/marquee/internal/durable"
)

// storeFile is the store's file in its data directory: buntdb's
// append-only log of RESP commands (set, del, flushdb).
const storeFile = "profiles.db"

// maxReportedDamage and maxReportedUndecodable bound what a report lists;
// the counts are always exact.
const (
	maxReportedDamage      = 100
	maxReportedUndecodable = 100
)

// FileDamage is one stretch of a store file that holds no valid record.
type FileDamage struct {
	// Offset is the stretch's first byte, Length its size: the next valid
	// record, if any, starts at Offset+Length.
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
	// Reason says what is wrong with the record at Offset.
	Reason string `json:"reason"`
	// Key is the key of that record, when its header could still be read.
	Key string `json:"key,omitempty"`
}

func (d FileDamage) String() string {
	s := fmt.Sprintf("byte %d: %s (%d bytes to the next valid record)", d.Offset, d.Reason, d.Length)
	if d.Key != "" {
		s += fmt.Sprintf(", record for key %q", d.Key)
	}
	return s
}

// FileReport is what CheckDir found in a store file.
type FileReport struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	// Commands counts the valid records read; Keys the keys they leave
	// after replaying them in order, Profiles the profile records among
	// those.
	Commands int `json:"commands"`
	Keys     int `json:"keys"`
	Profiles int `json:"profiles"`
	// Undecodable counts the profile records whose value does not decode;
	// the store reads them as absent. UndecodableIDs lists the first of them.
	Undecodable    int      `json:"undecodable"`
	UndecodableIDs []string `json:"undecodable_ids,omitempty"`
	// TornTail is the size of an incomplete last record, cut off by a
	// crash mid-write: Open drops it, losing only that write.
	TornTail int64 `json:"torn_tail"`
	// DamageCount counts the damaged stretches; Damage lists the first.
	DamageCount int          `json:"damage_count"`
	Damage      []FileDamage `json:"damage,omitempty"`
}

// Clean reports whether the file needs no repair.
func (r *FileReport) Clean() bool {
	return r.DamageCount == 0 && r.Undecodable == 0 && r.TornTail == 0
}

// ErrDamaged is wrapped by Open's error when the store file holds a stretch
// that is no valid record; the error names the first one.
var ErrDamaged = errors.New("sync: store file is damaged")

// CheckDir reads the store file in dir, every record, and reports each
// stretch that holds no valid record with its byte offset, every profile
// record that does not decode, and a torn last record. It does not change
// the file, and needs no lock: it may run beside a node using it, though
// the node's concurrent writes may then read as a torn tail.
func CheckDir(dir string) (*FileReport, error) {
	r, _, err := scanFile(filepath.Join(dir, storeFile), true)
	return r, err
}

// record is a live key's last set, as replay leaves it.
type record struct {
	val  string
	exat int64 // unix seconds the key expires at; 0 for never
}

// scanFile reads path's records in order. With replay it also replays
// them into the keys they leave, checks every profile record decodes, and
// returns those keys; without, it only checks the framing and command of
// each record, as Open does before buntdb reads the file.
func scanFile(path string, replay bool) (*FileReport, map[string]record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	rep := &FileReport{Path: path, Size: fi.Size()}
	var keys map[string]record
	if replay {
		keys = make(map[string]record)
	}
	sc := newFileScanner(f, fi.Size())
	for {
		start, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var bad *badRecord
			if !errors.As(err, &bad) {
				return nil, nil, err
			}
			resumed, rerr := sc.resync(start)
			if rerr != nil {
				return nil, nil, rerr
			}
			if resumed < 0 && bad.torn {
				rep.TornTail = fi.Size() - start
				break
			}
			end := resumed
			if end < 0 {
				end = fi.Size()
			}
			reason := bad.reason
			if bad.torn {
				reason += "; valid records follow, so it is not a torn write"
			}
			rep.DamageCount++
			if len(rep.Damage) < maxReportedDamage {
				rep.Damage = append(rep.Damage, FileDamage{Offset: start, Length: end - start, Reason: reason, Key: bad.key})
			}
			if resumed < 0 {
				break
			}
			continue
		}
		rep.Commands++
		if replay {
			sc.apply(keys, fi.ModTime())
		}
	}
	if !replay {
		return rep, nil, nil
	}
	now := time.Now().Unix()
	for k, rec := range keys {
		if rec.exat != 0 && rec.exat <= now {
			delete(keys, k)
			continue
		}
		id, ok := strings.CutPrefix(k, keyPrefix)
		if !ok {
			continue
		}
		if _, err := unmarshalProfile([]byte(rec.val)); err != nil {
			rep.Undecodable++
			if len(rep.UndecodableIDs) < maxReportedUndecodable {
				rep.UndecodableIDs = append(rep.UndecodableIDs, id)
			}
			delete(keys, k)
			continue
		}
		rep.Profiles++
	}
	slices.Sort(rep.UndecodableIDs)
	rep.Keys = len(keys) + rep.Undecodable
	return rep, keys, nil
}

// badRecord is why the record at an offset is not valid.
type badRecord struct {
	reason string
	key    string // the record's key, when read
	torn   bool   // the file ended inside the record
}

func (e *badRecord) Error() string { return e.reason }

// fileScanner reads RESP commands from a store file, knowing the offset of
// each, and can start again at any offset.
type fileScanner struct {
	f    *os.File
	size int64
	r    *bufio.Reader
	off  int64 // offset of r's next byte
	args [][]byte
	buf  []byte
}

func newFileScanner(f *os.File, size int64) *fileScanner {
	sc := &fileScanner{f: f, size: size}
	sc.seek(0)
	return sc
}

func (sc *fileScanner) seek(off int64) {
	sc.off = off
	sc.r = bufio.NewReaderSize(io.NewSectionReader(sc.f, off, sc.size-off), 64<<10)
}

// next reads the command at the current offset and returns its offset: a
// *badRecord when it is not valid, io.EOF at the clean end of the file.
// NUL bytes between commands are skipped, as buntdb does.
func (sc *fileScanner) next() (int64, error) {
	for {
		c, err := sc.r.ReadByte()
		if err != nil {
			return sc.off, err // io.EOF: the end, between records
		}
		if c != 0 {
			sc.r.UnreadByte()
			break
		}
		sc.off++
	}
	start := sc.off // read before readCommand moves it
	return start, sc.readCommand()
}

func (sc *fileScanner) readCommand() error {
	n, err := sc.readCount('*', "record")
	if err != nil {
		return err
	}
	sc.args, sc.buf = sc.args[:0], sc.buf[:0]
	key := func() string {
		if len(sc.args) > 1 {
			return string(sc.args[1])
		}
		return ""
	}
	for i := range n {
		size, err := sc.readCount('$', "argument "+strconv.Itoa(i+1))
		if err != nil {
			err.key = key()
			return err
		}
		if int64(size) > sc.size-sc.off {
			return &badRecord{reason: fmt.Sprintf("argument %d claims %d bytes, past the end of the file", i+1, size), key: key(), torn: true}
		}
		at := len(sc.buf)
		sc.buf = slices.Grow(sc.buf, size+2)[:at+size+2]
		if _, err := io.ReadFull(sc.r, sc.buf[at:]); err != nil {
			return &badRecord{reason: "file ends inside the record", key: key(), torn: true}
		}
		sc.off += int64(size + 2)
		if sc.buf[at+size] != '\r' || sc.buf[at+size+1] != '\n' {
			sc.args = append(sc.args, sc.buf[at:at+size])
			return &badRecord{reason: fmt.Sprintf("argument %d is not followed by CRLF after its %d bytes", i+1, size), key: key()}
		}
		sc.args = append(sc.args, sc.buf[at:at+size:at+size])
	}
	return sc.checkCommand(key)
}

// readCount reads a "*N\r\n" or "$N\r\n" line.
func (sc *fileScanner) readCount(marker byte, what string) (int, *badRecord) {
	line, err := sc.r.ReadSlice('\n')
	sc.off += int64(len(line))
	switch {
	case err == bufio.ErrBufferFull:
		return 0, &badRecord{reason: what + " header is not a count line"}
	case err != nil:
		return 0, &badRecord{reason: "file ends inside the record", torn: true}
	case len(line) < 4 || line[0] != marker || line[len(line)-2] != '\r':
		return 0, &badRecord{reason: fmt.Sprintf("%s header %q is not %c<count>CRLF", what, clip(line), marker)}
	}
	digits := line[1 : len(line)-2]
	n := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, &badRecord{reason: fmt.Sprintf("%s header %q: count is not a number", what, clip(line))}
		}
		n = n*10 + int(c-'0')
		if n > 1<<40 {
			return 0, &badRecord{reason: fmt.Sprintf("%s header %q: count too large", what, clip(line))}
		}
	}
	return n, nil
}

// checkCommand refuses what buntdb's loader refuses, and commands it would
// misread.
func (sc *fileScanner) checkCommand(key func() string) error {
	a := sc.args
	if len(a) == 0 {
		return nil // "*0": an empty command, which buntdb skips
	}
	switch {
	case bytes.EqualFold(a[0], []byte("set")):
		switch len(a) {
		case 3:
			return nil
		case 5:
			if !bytes.EqualFold(a[3], []byte("ex")) && !bytes.EqualFold(a[3], []byte("ae")) {
				return &badRecord{reason: fmt.Sprintf("set with unknown option %q", clip(a[3])), key: key()}
			}
			if _, err := strconv.ParseInt(string(a[4]), 10, 64); err != nil {
				return &badRecord{reason: fmt.Sprintf("set with expiry %q that is not a number", clip(a[4])), key: key()}
			}
			return nil
		}
		return &badRecord{reason: fmt.Sprintf("set with %d arguments", len(a)), key: key()}
	case bytes.EqualFold(a[0], []byte("del")):
		if len(a) != 2 {
			return &badRecord{reason: fmt.Sprintf("del with %d arguments", len(a)), key: key()}
		}
		return nil
	case bytes.EqualFold(a[0], []byte("flushdb")):
		return nil
	}
	return &badRecord{reason: fmt.Sprintf("unknown command %q", clip(a[0])), key: key()}
}

// apply replays the command just read into keys. A relative expiry counts
// from the file's modification time, as buntdb reads it.
func (sc *fileScanner) apply(keys map[string]record, mod time.Time) {
	a := sc.args
	if len(a) == 0 {
		return
	}
	switch a[0][0] | 0x20 {
	case 's':
		rec := record{val: string(a[2])}
		if len(a) == 5 {
			v, _ := strconv.ParseInt(string(a[4]), 10, 64)
			if a[3][0]|0x20 == 'e' {
				v += mod.Unix()
			}
			rec.exat = max(v, 1)
		}
		keys[string(a[1])] = rec
	case 'd':
		delete(keys, string(a[1]))
	case 'f':
		clear(keys)
	}
}

// resync finds the first valid record after the bad one at start: one at
// the beginning of a line, the way every record begins. It returns its
// offset, leaving the scanner after it, or -1 when none follows.
func (sc *fileScanner) resync(start int64) (int64, error) {
	from := start + 1
	for from < sc.size {
		sc.seek(from)
		// Find the next "\n*".
		found := int64(-1)
		for {
			line, err := sc.r.ReadSlice('\n')
			sc.off += int64(len(line))
			if err == bufio.ErrBufferFull {
				continue
			}
			if err != nil {
				return -1, nil
			}
			if c, err := sc.r.Peek(1); err == nil && c[0] == '*' {
				found = sc.off
				break
			}
		}
		if found < 0 {
			return -1, nil
		}
		if err := sc.readCommand(); err == nil {
			// Leave the scanner after this record: the caller counts it.
			sc.seek(found)
			return found, nil
		}
		from = found + 1
	}
	return -1, nil
}

func clip(b []byte) string {
	const n = 40
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// RepairResult is what Repair did.
type RepairResult struct {
	// Report is the check of the file before repair.
	Report *FileReport `json:"report"`
	// Kept counts the records written to the repaired file.
	Kept int `json:"kept"`
	// MovedTo is where the original file now is; empty when it needed no
	// repair and was left alone.
	MovedTo string `json:"moved_to,omitempty"`
}

// Repair rewrites the store file in dir with every valid record, leaving
// out damaged stretches, undecodable profile records and a torn tail, after
// moving the original aside beside it (profiles.db.damaged-TIME). It holds
// the data directory's lock, so it refuses to run beside a node using dir,
// and it opens the repaired file as a node would before it returns. A file
// that is clean is left alone.
func Repair(dir string, now time.Time) (*RepairResult, error) {
	fl, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer fl.release()
	path := filepath.Join(dir, storeFile)
	rep, keys, err := scanFile(path, true)
	if err != nil {
		return nil, err
	}
	res := &RepairResult{Report: rep}
	if rep.Clean() {
		return res, nil
	}
	tmp := path + ".repair"
	if err := writeFileSynced(tmp, func(w io.Writer) error { return writeRecords(w, keys) }); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("sync: repair: %w", err)
	}
	aside := path + ".damaged-" + now.UTC().Format("20060102T150405Z")
	if err := os.Rename(path, aside); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("sync: repair: move the original aside: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("sync: repair: the original is at %s: %w", aside, err)
	}
	if err := durable.SyncDir(dir); err != nil {
		return nil, fmt.Errorf("sync: repair: %w", err)
	}
	res.Kept, res.MovedTo = len(keys), aside
	s, err := Open(Options{Dir: dir, NoLock: true})
	if err != nil {
		return nil, fmt.Errorf("sync: repair: the repaired file does not open (the original is at %s): %w", aside, err)
	}
	return res, s.Close()
}

// writeRecords writes keys in the store's format, sorted by key, expiries
// absolute.
func writeRecords(w io.Writer, keys map[string]record) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	var b []byte
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		rec := keys[k]
		b = b[:0]
		if rec.exat != 0 {
			b = appendRESP(b, "set", k, rec.val, "ae", strconv.FormatInt(rec.exat, 10))
		} else {
			b = appendRESP(b, "set", k, rec.val)
		}
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// writeFileSynced creates path, lets write fill it and syncs it.
func writeFileSynced(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, dataFileMode)
	if err != nil {
		return err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// appendRESP appends one command in buntdb's file format.
func appendRESP(b []byte, args ...string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// checkBeforeOpen reads the store file's records before buntdb loads it.
// buntdb stops at the first bad byte with nothing but "invalid database",
// and reads a record whose length runs past the end of the file as a torn
// write, truncating the file there and every record after it; this check
// names the offset and record instead, and refuses to open the file. A
// torn last record is logged, and buntdb drops it.
func checkBeforeOpen(path, dir string, log *slog.Logger) error {
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		return nil
	}
	rep, _, err := scanFile(path, false)
	if err != nil {
		return fmt.Errorf("sync: check %s: %w", path, err)
	}
	if rep.DamageCount > 0 {
		return fmt.Errorf("%w: %s: %s (%d damaged stretches in all); %s", ErrDamaged, path, rep.Damage[0], rep.DamageCount, repairHint(dir))
	}
	if rep.TornTail > 0 && log != nil {
		log.Warn("sync: dropping the store file's incomplete last record, cut off mid-write", "path", path, "offset", rep.Size-rep.TornTail, "bytes", rep.TornTail)
	}
	return nil
}

func repairHint(dir string) string {
	return fmt.Sprintf("\"marquee store check -data-dir %s\" lists the damage, \"marquee store repair -data-dir %s\" keeps every valid record and moves the file aside", dir, dir)
}
