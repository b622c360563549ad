"""Text from configs and run logs on its way to a terminal (src/runlog/sanitize.ts, the same rules):
a config or a log may come from anyone, so its text may hold escape sequences a terminal would act
on (ESC, CSI, OSC, CR), line breaks that would split one line into several, bidirectional
overrides, or lone surrogates. One-line text has every such character shown escaped and is cut."""
import re

# C0 controls, DEL, C1 controls (U+009B is a CSI on its own), the line and paragraph separators,
# the bidirectional overrides and isolates, U+FEFF, and lone surrogates.
_CONTROL = re.compile("[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
# The same, but line feeds and tabs pass (text of several lines).
_CONTROL_BUT_LINES = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\u001b": "\\e"}

# The most characters of one value or message shown by default (MAX_TEXT).
MAX_TEXT = 2000


def _escaped(m):
    c = m.group(0)
    if c in _NAMED:
        return _NAMED[c]
    code = ord(c)
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return "\\x%02x" % code if code < 0x100 else "\\u%04x" % code


def one_line(s, max_chars=MAX_TEXT):
    """Text shown on one line: every control character escaped, cut to `max_chars` characters
    (saying how long it was)."""
    s = str(s)
    more = ""
    if len(s) > max_chars:
        more = "\u2026 (%s characters)" % "{:,}".format(len(s))
        s = s[:max_chars]
    return _CONTROL.sub(_escaped, s) + more


def terminal_text(s):
    """Text for a terminal that may span lines: controls escaped as in one_line, line feeds and tabs kept."""
    return _CONTROL_BUT_LINES.sub(_escaped, str(s))


# Characters XML 1.0 does not allow (its Char production): C0 controls but tab and line breaks,
# U+FFFE/U+FFFF, and lone surrogates.
_NOT_XML = re.compile("[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff\ud800-\udfff]")


def xml_chars(s):
    """Text with the characters XML forbids replaced by U+FFFD (markup is not escaped: svg.esc does)."""
    return _NOT_XML.sub("\ufffd", str(s))
