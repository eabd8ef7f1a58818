package htmlscan

import (
	"bytes"
	"strings"
)

// Attr returns the raw value of the attribute called name (lower case) of
// the start tag at the start of tag, read as the tokenizer reads it: the
// first attribute of that name wins, names are matched in any case, and
// the value is as written (character references not decoded). ok is false
// when the tag has no such attribute or ends before its '>'.
func Attr(tag []byte, name string) (value []byte, ok bool) {
	if len(tag) < 2 || tag[0] != '<' {
		return nil, false
	}
	i := 1
	for i < len(tag) && !nameStop[tag[i]] {
		i++
	}
	for {
		// The before attribute name state; '/' as the self-closing start
		// tag state leaves it.
		for i < len(tag) && (isSpace(tag[i]) || tag[i] == '/') {
			i++
		}
		if i >= len(tag) || tag[i] == '>' {
			return nil, false
		}
		start := i
		i++ // a first '=' belongs to the name
		for i < len(tag) && !attrStop[tag[i]] {
			i++
		}
		n := tag[start:i]
		for i < len(tag) && isSpace(tag[i]) {
			i++
		}
		var v []byte
		if i < len(tag) && tag[i] == '=' {
			i++
			for i < len(tag) && isSpace(tag[i]) {
				i++
			}
			if i >= len(tag) {
				return nil, false
			}
			switch q := tag[i]; q {
			case '"', '\'':
				end := bytes.IndexByte(tag[i+1:], q)
				if end < 0 {
					return nil, false
				}
				v = tag[i+1 : i+1+end]
				i += end + 2
			case '>':
			default:
				end := i
				for end < len(tag) && !unquotedStop[tag[end]] {
					end++
				}
				v, i = tag[i:end], end
			}
		}
		if len(n) == len(name) && bytes.EqualFold(n, []byte(name)) {
			return v, true
		}
	}
}

// PrescanFinds reports whether the WHATWG prescan for a character
// encoding (HTML §13.2.3.2, "prescan a byte stream to determine its
// encoding") settles the encoding within b: a <meta charset> or a
// <meta http-equiv="content-type" content="…charset=…"> naming an
// encoding it knows, outside comments. When it does for the bytes before
// the insertion point, nothing inserted after them can change what the
// browser decides.
func PrescanFinds(b []byte) bool {
	for i := 0; i < len(b); {
		if b[i] != '<' {
			j := bytes.IndexByte(b[i+1:], '<')
			if j < 0 {
				return false
			}
			i += 1 + j
			continue
		}
		rest := b[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := bytes.Index(rest[2:], []byte("-->"))
			if end < 0 {
				return false
			}
			i += 2 + end + 3
		case len(rest) > 5 && bytes.EqualFold(rest[1:5], []byte("meta")) && (isSpace(rest[5]) || rest[5] == '/'):
			n, found, ok := prescanMeta(rest[5:])
			if !ok {
				return false
			}
			if found {
				return true
			}
			i += 5 + n
		case len(rest) > 1 && isAlpha(rest[1]), len(rest) > 2 && rest[1] == '/' && isAlpha(rest[2]):
			j := 1
			for j < len(rest) && !isSpace(rest[j]) && rest[j] != '>' {
				j++
			}
			for {
				n, _, _, more, ok := prescanAttr(rest[j:])
				if !ok {
					return false
				}
				j += n
				if !more {
					break
				}
			}
			i += j
		case len(rest) > 1 && (rest[1] == '!' || rest[1] == '/' || rest[1] == '?'):
			j := bytes.IndexByte(rest, '>')
			if j < 0 {
				return false
			}
			i += j + 1
		default:
			i++
		}
	}
	return false
}

// prescanMeta runs the prescan's steps for a <meta> whose attributes start
// at b: how many bytes it read, whether it settles the encoding, and ok
// false when b ended first.
func prescanMeta(b []byte) (n int, found, ok bool) {
	gotPragma, needPragma, charset := false, 0, false // needPragma: 0 null, 1 true, 2 false
	var seen [3]bool                                  // http-equiv, content, charset already processed
	for {
		k, name, value, more, ok := prescanAttr(b[n:])
		if !ok {
			return n, false, false
		}
		n += k
		if !more {
			break
		}
		switch {
		case string(name) == "http-equiv" && !seen[0]:
			seen[0] = true
			gotPragma = bytes.EqualFold(value, []byte("content-type"))
		case string(name) == "content" && !seen[1]:
			seen[1] = true
			if !charset {
				if label, ok := charsetFromContent(value); ok {
					charset, needPragma = knownEncoding(label), 1
				}
			}
		case string(name) == "charset" && !seen[2]:
			seen[2] = true
			charset, needPragma = knownEncoding(value), 2
		}
	}
	switch {
	case needPragma == 0, needPragma == 1 && !gotPragma, !charset:
		return n, false, true
	}
	return n, true, true
}

// prescanAttr is the prescan's "get an attribute" on b: the bytes it read,
// the lower-cased name and the value, more false when there is no
// attribute (a '>' ends the tag), and ok false when b ended first.
func prescanAttr(b []byte) (n int, name, value []byte, more, ok bool) {
	i := 0
	for i < len(b) && (isSpace(b[i]) || b[i] == '/') {
		i++
	}
	if i == len(b) {
		return i, nil, nil, false, false
	}
	if b[i] == '>' {
		return i + 1, nil, nil, false, true
	}
	start := i
	for {
		if i == len(b) {
			return i, nil, nil, false, false
		}
		c := b[i]
		if c == '=' && i > start {
			break
		}
		if isSpace(c) {
			name = lowerBytes(b[start:i])
			for i < len(b) && isSpace(b[i]) {
				i++
			}
			if i == len(b) {
				return i, nil, nil, false, false
			}
			if b[i] != '=' {
				return i, name, nil, true, true
			}
			break
		}
		if c == '/' || c == '>' {
			return i, lowerBytes(b[start:i]), nil, true, true
		}
		i++
	}
	if name == nil {
		name = lowerBytes(b[start:i])
	}
	i++ // the '='
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i == len(b) {
		return i, nil, nil, false, false
	}
	if q := b[i]; q == '"' || q == '\'' {
		end := bytes.IndexByte(b[i+1:], q)
		if end < 0 {
			return len(b), nil, nil, false, false
		}
		return i + 2 + end, name, lowerBytes(b[i+1 : i+1+end]), true, true
	}
	if b[i] == '>' {
		return i, name, nil, true, true
	}
	start = i
	for i < len(b) && !isSpace(b[i]) && b[i] != '>' {
		i++
	}
	if i == len(b) {
		return i, nil, nil, false, false
	}
	return i, name, lowerBytes(b[start:i]), true, true
}

// charsetFromContent is the spec's "extract a character encoding from a
// meta element" on a content value (already lower case).
func charsetFromContent(v []byte) ([]byte, bool) {
	for {
		i := bytes.Index(v, []byte("charset"))
		if i < 0 {
			return nil, false
		}
		v = v[i+len("charset"):]
		j := 0
		for j < len(v) && isSpace(v[j]) {
			j++
		}
		if j == len(v) || v[j] != '=' {
			continue
		}
		v = v[j+1:]
		j = 0
		for j < len(v) && isSpace(v[j]) {
			j++
		}
		v = v[j:]
		if len(v) == 0 {
			return nil, false
		}
		if q := v[0]; q == '"' || q == '\'' {
			end := bytes.IndexByte(v[1:], q)
			if end < 0 {
				return nil, false
			}
			return v[1 : 1+end], true
		}
		end := 0
		for end < len(v) && !isSpace(v[end]) && v[end] != ';' {
			end++
		}
		return v[:end], true
	}
}

// knownEncoding reports whether label (lower case, surrounding whitespace
// allowed) names an encoding of the WHATWG Encoding Standard. Only the
// labels in use on the web are listed; an unknown one is treated as the
// prescan treats a failure, so the caller stays careful.
func knownEncoding(label []byte) bool {
	label = bytes.TrimSpace(label)
	switch string(label) {
	case "utf-8", "utf8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "x-unicode20utf8",
		"utf-16", "utf-16le", "utf-16be", "unicode", "unicodefffe",
		"us-ascii", "ascii", "ansi_x3.4-1968", "latin1", "l1", "iso-8859-1", "iso8859-1", "iso_8859-1", "cp1252", "windows-1252", "x-cp1252",
		"iso-8859-2", "iso8859-2", "latin2", "l2", "windows-1250", "cp1250", "x-cp1250",
		"iso-8859-5", "windows-1251", "cp1251", "x-cp1251", "koi8-r", "koi8", "koi", "koi8-u", "koi8-ru",
		"iso-8859-7", "greek", "windows-1253", "iso-8859-9", "latin5", "windows-1254", "cp1254",
		"iso-8859-15", "latin9", "l9", "iso-8859-8", "iso-8859-8-i", "windows-1255", "windows-1256", "windows-1257", "windows-1258",
		"iso-8859-4", "iso-8859-6", "iso-8859-10", "iso-8859-13", "iso-8859-14", "iso-8859-16", "iso-8859-3",
		"windows-874", "tis-620", "iso-8859-11", "ibm866", "866", "cp866", "macintosh", "mac", "x-mac-roman", "x-mac-cyrillic",
		"shift_jis", "shift-jis", "sjis", "ms_kanji", "windows-31j", "x-sjis", "csshiftjis", "euc-jp", "x-euc-jp", "iso-2022-jp", "csiso2022jp",
		"euc-kr", "ks_c_5601-1987", "windows-949", "korean", "cseuckr",
		"gbk", "gb2312", "x-gbk", "chinese", "csgb2312", "gb18030", "big5", "big5-hkscs", "cn-big5", "x-x-big5", "csbig5",
		"x-user-defined":
		return true
	}
	return false
}

func lowerBytes(b []byte) []byte {
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			out := make([]byte, len(b))
			for i, c := range b {
				out[i] = lower(c)
			}
			return out
		}
	}
	return b
}

// PrescanAffected reports a "<meta" tag or a non-ASCII byte in window,
// the bytes from the insertion point to the end of the browser's prescan
// window: the snippet would move it out of the window, and so could change
// the encoding the browser reads the page in.
func PrescanAffected(window []byte) bool {
	for _, c := range window {
		if c >= 0x80 {
			return true
		}
	}
	for i := 0; i+5 <= len(window); i++ {
		if window[i] != '<' || !strings.EqualFold(string(window[i+1:i+5]), "meta") {
			continue
		}
		if i+5 == len(window) {
			return true // cut at the window's end: it may well be one
		}
		if c := window[i+5]; isSpace(c) || c == '/' {
			return true
		}
	}
	return false
}
