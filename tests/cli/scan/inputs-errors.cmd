# a directory that is not a Maildir and a missing file are reported, the rest is scanned, exit 2
smexop scan -c @CASES@/scan.yaml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 --ip 127.0.0.1 --helo h.example @CASES@ @CASES@/no-such.eml @DATA@/../../samples/clean.eml
exit 2
