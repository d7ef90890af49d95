# From bank.example (p=reject) sent from a host its SPF does not list, unsigned: spoof, refused with 550 5.7.509
smexop scan -c @CASES@/scan.yaml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 --ip 127.0.0.23 --helo laptop.attacker.example --mail-from security@bank.example --rcpt alice@example.com @DATA@/../../samples/spoof-dmarc-reject.eml
