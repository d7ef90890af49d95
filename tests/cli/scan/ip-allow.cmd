# the client is on the IP allow list: SCL -1, delivered although DMARC says reject
smexop scan -c @CASES@/scan.yaml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 --ip 127.0.0.99 --helo fwd.example --mail-from security@bank.example --rcpt alice@example.com @DATA@/../../samples/spoof-dmarc-reject.eml
