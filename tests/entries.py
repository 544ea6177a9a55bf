"""Entries of a forward_entity_list by the vendor's five patterns (docs/api.md): whole-string,
ASCII-only, including what the vendor's patterns let through."""

# The vendor's five patterns as docs/api.md gives them, anchored where the vendor's are not:
# written out here, so that the service's own copy (forwarding/limits.py) is checked, not used.
PATTERNS = [
    r"^\d+$",
    r"^laskomex:\d+$",
    r"^vizit:\d+$",
    r"^sip:([0-9A-Za-z+\-_]*@)((\b((25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?(?:\:\d{1,5})?)(\.|$)){4}\b)"
    r"|([0-9]*[A-Za-z+\-_]+[0-9]*)((\.([0-9]*[A-Za-z+\-_]+[0-9]*))+\b))$",
    r"^sip:(\b((25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?(?:\:\d{1,5})?)(\.|$)){4}\b)$",
]

ACCEPTED = [
    # digits only
    "101",
    "0",
    "007",
    "9" * 40,
    # hybrid adapters
    "laskomex:10",
    "laskomex:0",
    "vizit:10",
    "vizit:0042",
    # full SIP URI
    "sip:100@sip.bas-ip.com",
    "sip:name@192.168.1.2",
    "sip:@sip.bas-ip.com",
    "sip:@1.2.3.4",
    "sip:a+b-c_d@host.example",
    "sip:100@1host.example",
    "sip:100@a.b",
    "sip:100@host_1.ex-ample",
    "sip:100@192.168.1.2:5060",
    # SIP URI with an IP address only, including what the vendor's pattern lets through
    "sip:192.168.1.2",
    "sip:0.0.0.0",
    "sip:255.255.255.255",
    "sip:192.168.001.002",
    "sip:192.168.1.2:5060",
    "sip:1.2.3.4:99999",
    "sip:1:80.2.3.4",
]

REJECTED = [
    "",
    # digits: ASCII only, over the whole string
    "١٠١",
    "１０１",
    "101\n",
    "\n101",
    " 101",
    "101 ",
    "10 1",
    "-1",
    "+101",
    "1.5",
    "0x1F",
    "abc",
    # hybrid adapters
    "laskomex:",
    "laskomex:abc",
    "LASKOMEX:10",
    "Laskomex:10",
    "laskomex:10\n",
    "laskomex: 10",
    "laskomex:١٠",
    "vizit:",
    "vizit:-1",
    "Vizit:1",
    "vizit:1 ",
    "vizit:x",
    "vizit:10:1",
    "tel:101",
    # full SIP URI
    "SIP:100@sip.bas-ip.com",
    "Sip:100@sip.bas-ip.com",
    "sip:name@host",
    "sip:a@b",
    "sip:100@",
    "sip:100@sip.bas-ip.com.",
    "sip:100@sip.bas-ip.com-",
    "sip:100@sip.bas-ip.com\n",
    "sip:100 @sip.bas-ip.com",
    "sip:100@sip .bas-ip.com",
    "sip:user.name@host.com",
    "sip:100@@host.com",
    "sip:100@1.2",
    "sip:100@192.168.1.256",
    "sip:100@256.1.1.1",
    "sip:100@sip.bas-ip.com:5060",
    "sip:100@bas-ip.com ",
    # SIP URI with an IP address only
    "sip:256.1.1.1",
    "sip:1.2.3",
    "sip:1.2.3.4.5",
    "sip:192.168.1.2\n",
    "sip:192.168.1.2.",
    "sip:1.2.3.4:123456",
    "sip:1.2.3.4:",
    "sip:",
    "sip: 192.168.1.2",
    "SIP:192.168.1.2",
    "sip:١.2.3.4",
    "192.168.1.2",
]
