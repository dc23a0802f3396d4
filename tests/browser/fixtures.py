"""The browser tests' files, written by independent writers (Python's csv, openpyxl) into
the folder given as the only argument (run by scripts/browser-tests.sh with the Python of
scripts/py-env.sh):

  vendas.csv        200 rows as Excel pt-BR writes them: Windows-1252, `;`, CRLF, 1.234,56,
                    31/12/2025, sim/não, accented names
  vendas_ref.csv    the same rows as a plain UTF-8 CSV, for psql \\copy
  planilha.xlsx     two sheets, "Janeiro" (ids 1-3) and "Fevereiro" (ids 101-105), same columns
  produtos_bad.csv  30 rows, UTF-8; line 12 (the header is line 1) has qtd "doze"
  big.csv           1,000,000 rows (id, code, amount, day), about 33 MB; kept between runs
  pequeno.csv       1,500 rows, for the Portuguese number formats and the axe scans
  permitido.csv     3 rows for the token scenario
"""
import csv
import datetime as dt
import os
import random
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
r = random.Random(2025)

# ---- vendas: Windows-1252, `;`, decimal comma, dd/mm/yyyy, sim/não ---------------------------
names = ["João da Silva", "Maria da Conceição", "José Araújo", "Ângela Gonçalves", "Estêvão Müller",
         "Cláudia Assunção", "Mônica Brandão", "Luís Inácio", "Açougue São Jorge Ltda", "Padaria Pão de Açúcar",
         "D'Ávila & Cia", "Irmãos Peçanha, Filhos"]
rows = []
for i in range(1, 201):
    cents = [123456, 123456789, -4590, 5, 100000][i - 1] if i <= 5 else r.randint(-10**6, 10**9)
    day = dt.date(2025, 12, 31) if i == 1 else dt.date(2024, 1, 1) + dt.timedelta(days=r.randint(0, 730))
    rows.append((i, names[(i - 1) % len(names)], cents, day, [True, False, None][i % 3]))


def br(c):
    return ("-" if c < 0 else "") + "{:,}".format(abs(c) // 100).replace(",", ".") + ",%02d" % (abs(c) % 100)


with open(f"{out}/vendas.csv", "w", newline="", encoding="cp1252") as f:
    w = csv.writer(f, delimiter=";")
    w.writerow(["id", "cliente", "valor", "data", "pago"])
    for i, c, v, d, p in rows:
        w.writerow([i, c, br(v), d.strftime("%d/%m/%Y"), "" if p is None else "sim" if p else "não"])
with open(f"{out}/vendas_ref.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["id", "cliente", "valor", "data", "pago"])
    for i, c, v, d, p in rows:
        w.writerow([i, c, ("-" if v < 0 else "") + "%d.%02d" % (abs(v) // 100, abs(v) % 100), d.isoformat(),
                    "" if p is None else str(p).lower()])

# ---- planilha.xlsx: two sheets --------------------------------------------------------------
from openpyxl import Workbook  # noqa: E402

wb = Workbook()
jan = wb.active
jan.title = "Janeiro"
jan.append(["id", "produto", "quantidade"])
for i, p in enumerate(["Café", "Açúcar", "Feijão"], start=1):
    jan.append([i, f"{p} janeiro", i * 10])
fev = wb.create_sheet("Fevereiro")
fev.append(["id", "produto", "quantidade"])
for i, p in enumerate(["Pão", "Manteiga", "Queijo Minas", "Goiabada", "Leite"], start=101):
    fev.append([i, f"{p} fevereiro", i - 100])
wb.save(f"{out}/planilha.xlsx")

# ---- produtos_bad.csv: one bad value on line 12 ---------------------------------------------
with open(f"{out}/produtos_bad.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["id", "nome", "preco", "qtd"])
    for i in range(1, 31):
        line = i + 1
        w.writerow([i, f"produto {i}", "%d.%02d" % (i * 3, i % 100), "doze" if line == 12 else i * 2])

# ---- pequeno.csv and permitido.csv ----------------------------------------------------------
with open(f"{out}/pequeno.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["id", "nome", "preco", "qtd"])
    for i in range(1, 1501):
        w.writerow([i, f"item {i}", "%d.%02d" % (i, i % 100), "x" if i == 7 else i])
with open(f"{out}/permitido.csv", "w", newline="", encoding="utf-8") as f:
    f.write("id,texto\n1,um\n2,dois\n3,três\n")

# ---- big.csv: 1,000,000 rows, written once ---------------------------------------------------
big = f"{out}/big.csv"
if not os.path.exists(big) or os.path.getsize(big) < 30_000_000:
    base = dt.date(2024, 1, 1).toordinal()
    days = [dt.date.fromordinal(base + k).isoformat() for k in range(731)]
    with open(big + ".tmp", "w", newline="") as f:
        f.write("id,code,amount,day\n")
        chunk = []
        for i in range(1, 1_000_001):
            chunk.append(f"{i},c{i % 99991},{(i * 7919) % 1000000 / 100:.2f},{days[i % 731]}\n")
            if len(chunk) == 50_000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))
    os.replace(big + ".tmp", big)
