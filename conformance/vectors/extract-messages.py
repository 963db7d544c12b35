#!/usr/bin/env python3
"""Writes the BGP messages of a capture as hex, one message per line (conformance/vectors/messages).

Usage: extract-messages.py CAPTURE OUTPUT NOTE [ADDRESS=PEER,...]

Reads a pcap or pcapng capture (Ethernet, Linux cooked v1/v2, raw IP or loopback links; IPv4 or
IPv6; TCP), puts each direction's TCP payload in sequence order (retransmitted octets are dropped),
cuts the byte stream into BGP messages by the length field of their header (RFC 4271 §4.1) and
writes them in the order they were completed in the capture, which is the order bagpipe-decode
numbers them in. Each message line is preceded by a comment line:

    # <index> <src> (<peer>) -> <dst> (<peer>) <type>

Deliberately independent of the codec under test: only the 19-octet header is read here.
"""
import struct
import sys

TYPES = {1: "open", 2: "update", 3: "notification", 4: "keepalive", 5: "route_refresh"}


def packets(data):
    """(linktype, frame) pairs of a pcap or pcapng file."""
    magic = data[:4]
    if magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    elif magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic == b"\x0a\x0d\x0d\x0a":
        yield from pcapng(data)
        return
    else:
        sys.exit("not a pcap or pcapng file")
    linktype = struct.unpack(end + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        caplen = struct.unpack(end + "I", data[off + 8 : off + 12])[0]
        yield linktype, data[off + 16 : off + 16 + caplen]
        off += 16 + caplen


def pcapng(data):
    end = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    links = []
    off = 0
    while off + 12 <= len(data):
        btype, blen = struct.unpack(end + "II", data[off : off + 8])
        body = data[off + 8 : off + blen - 4]
        if btype == 0x0A0D0D0A:
            links = []
        elif btype == 1:  # interface description
            links.append(struct.unpack(end + "H", body[:2])[0])
        elif btype == 6:  # enhanced packet
            iface, _, _, caplen, _ = struct.unpack(end + "IIIII", body[:20])
            yield links[iface], body[20 : 20 + caplen]
        elif btype == 3:  # simple packet
            yield links[0], body[4:]
        off += blen


def ip_payload(linktype, frame):
    """(version, ip packet) of a frame, or None."""
    if linktype == 1:  # Ethernet
        ethertype, rest = struct.unpack(">H", frame[12:14])[0], frame[14:]
        while ethertype in (0x8100, 0x88A8):
            ethertype, rest = struct.unpack(">H", rest[2:4])[0], rest[4:]
    elif linktype == 113:  # Linux cooked v1
        ethertype, rest = struct.unpack(">H", frame[14:16])[0], frame[16:]
    elif linktype == 276:  # Linux cooked v2
        ethertype, rest = struct.unpack(">H", frame[0:2])[0], frame[20:]
    elif linktype in (101, 12, 228, 229):  # raw IP
        ethertype = 0x0800 if frame[0] >> 4 == 4 else 0x86DD
        rest = frame
    elif linktype in (0, 108):  # null / loop
        ethertype = 0x0800 if frame[4] >> 4 == 4 else 0x86DD
        rest = frame[4:]
    else:
        return None
    return {0x0800: 4, 0x86DD: 6}.get(ethertype), rest


def tcp_segment(linktype, frame):
    version, ip = ip_payload(linktype, frame) or (None, None)
    if version == 4 and ip[9] == 6:
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        src, dst, tcp = ip[12:16], ip[16:20], ip[ihl:total]
        fmt = lambda a, p: "%d.%d.%d.%d:%d" % (*a, p)
    elif version == 6 and ip[6] == 6:
        plen = struct.unpack(">H", ip[4:6])[0]
        src, dst, tcp = ip[8:24], ip[24:40], ip[40 : 40 + plen]
        fmt = lambda a, p: "[%s]:%d" % (":".join("%x" % w for w in struct.unpack(">8H", a)), p)
    else:
        return None
    sport, dport, seq = struct.unpack(">HHI", tcp[:8])
    flags = tcp[13]
    payload = tcp[(tcp[12] >> 4) * 4 :]
    return fmt(src, sport), fmt(dst, dport), seq, bool(flags & 0x02), payload


def main():
    capture, output, note = sys.argv[1:4]
    names = dict(kv.split("=", 1) for kv in sys.argv[4].split(",")) if len(sys.argv) > 4 else {}
    who = lambda ep: "%s (%s)" % (ep, names.get(ep.rsplit(":", 1)[0].strip("[]"), "?"))
    data = open(capture, "rb").read()
    streams = {}  # (src, dst) -> [next seq, buffered octets]
    lines = ["# " + note, "# index src -> dst type, then the whole message (header included)"]
    index = 0
    for linktype, frame in packets(data):
        seg = tcp_segment(linktype, frame)
        if seg is None:
            continue
        src, dst, seq, syn, payload = seg
        st = streams.setdefault((src, dst), [None, b""])
        if syn:
            st[0] = (seq + 1) & 0xFFFFFFFF
            continue
        if not payload:
            continue
        if st[0] is None:
            st[0] = seq
        skip = (st[0] - seq) & 0xFFFFFFFF
        if skip >= len(payload) or skip > 0x7FFFFFFF:
            continue  # retransmission (or a gap, which these loopback captures do not have)
        st[1] += payload[skip:]
        st[0] = (seq + len(payload)) & 0xFFFFFFFF
        while len(st[1]) >= 19:
            length = struct.unpack(">H", st[1][16:18])[0]
            if st[1][:16] != b"\xff" * 16 or length < 19:
                sys.exit("lost BGP framing on %s -> %s" % (src, dst))
            if len(st[1]) < length:
                break
            msg, st[1] = st[1][:length], st[1][length:]
            lines.append("# %d %s -> %s %s" % (index, who(src), who(dst), TYPES.get(msg[18], "unknown")))
            lines.append(msg.hex())
            index += 1
    with open(output, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("%s: %d messages" % (output, index))


if __name__ == "__main__":
    main()
