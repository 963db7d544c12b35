import sys, time
cmds = [
    "announce route 10.20.0.0/24 rd 127.0.0.3:200 label 2000 next-hop 10.99.0.3 extended-community target:64512:200",
    "announce flow route { match { destination 10.30.0.0/24; protocol tcp; } then { discard; } }",
]
time.sleep(2)
for c in cmds:
    sys.stdout.write(c + "\n"); sys.stdout.flush(); time.sleep(0.2)
while sys.stdin.readline():
    pass
