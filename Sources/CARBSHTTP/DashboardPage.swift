/// The dashboard: one self-contained page (its CSS and JS inline, nothing from the network but this server's own
/// API) that polls the API every second and redraws without a reload.
///
/// The frontier is `CARBSReport`'s picture (`/plots/frontier.svg`: each observation one element of class
/// `observation`), inlined into the page. Text from the study (worker ids, dead-letter reasons and bodies) is set
/// with `textContent`, never parsed as HTML.
enum DashboardPage {
    static let html = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>CARBS live view</title>
        <style>
        body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 0; color: #222; background: #f6f6f4; }
        header { background: #20252b; color: #fff; padding: 12px 24px; display: flex; align-items: baseline; gap: 18px; }
        header h1 { font-size: 20px; margin: 0; }
        header .phase { font-size: 13px; padding: 2px 8px; border-radius: 10px; background: #3b6e4f; }
        header .phase.draining { background: #8a6d1f; } header .phase.finished, header .phase.interrupted { background: #555; }
        header .updated { margin-left: auto; font-size: 12px; color: #bbb; }
        main { padding: 16px 24px; display: grid; grid-template-columns: minmax(0, 800px) minmax(0, 1fr); gap: 16px; }
        section { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 12px 16px; }
        section h2 { font-size: 15px; margin: 0 0 10px 0; }
        .wide { grid-column: 1 / -1; }
        .stats { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px 16px; }
        .stat .value { font-size: 20px; font-weight: bold; } .stat .label { font-size: 12px; color: #666; }
        .bar { height: 14px; background: #e8e8e8; border-radius: 7px; overflow: hidden; margin: 10px 0 4px 0; }
        .bar div { height: 100%; background: #3b7dd8; width: 0; }
        table { border-collapse: collapse; width: 100%; font-size: 12px; }
        th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eee; white-space: nowrap; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        td.reason { white-space: normal; }
        .empty { color: #888; font-size: 12px; }
        #frontier svg, #scaling svg { width: 100%; height: auto; }
        #rate svg { width: 100%; height: 60px; }
        .error { color: #b00; font-size: 12px; }
        </style>
        </head>
        <body>
        <header><h1 id="study">CARBS</h1><span class="phase" id="phase">…</span>
        <span class="updated" id="updated">connecting…</span></header>
        <main>
        <section id="frontier-section"><h2>Frontier: cost against output</h2><div id="frontier"></div></section>
        <section>
          <h2>Progress</h2>
          <div class="bar"><div id="budget-bar"></div></div><div class="empty" id="budget-text"></div>
          <div class="stats" style="margin-top: 12px">
            <div class="stat"><div class="value" id="observations">–</div><div class="label">observations</div></div>
            <div class="stat"><div class="value" id="failures">–</div><div class="label">failed</div></div>
            <div class="stat"><div class="value" id="in-flight-count">–</div><div class="label">in flight</div></div>
            <div class="stat"><div class="value" id="best">–</div><div class="label">best output</div></div>
            <div class="stat"><div class="value" id="total-cost">–</div><div class="label">total cost</div></div>
            <div class="stat"><div class="value" id="per-minute">–</div><div class="label">results / min (10 min)</div></div>
          </div>
          <h2 style="margin-top: 14px">Results per minute (last 30 minutes)</h2><div id="rate"></div>
          <div class="error" id="error"></div>
        </section>
        <section class="wide"><h2>Runs in flight</h2>
          <table id="in-flight"><thead><tr><th>suggestion</th><th class="num">attempt</th><th>state</th><th>worker</th>
          <th>started</th><th>last heartbeat</th><th class="num">lease left (s)</th></tr></thead><tbody></tbody></table>
          <div class="empty" id="in-flight-empty">none</div></section>
        <section><h2>Scaling laws along the frontier</h2><table id="laws"><thead><tr><th>parameter</th>
          <th class="num">exponent</th><th class="num">R²</th><th class="num">points</th></tr></thead><tbody></tbody></table>
          <div class="empty" id="law-warnings"></div><div id="scaling"></div></section>
        <section><h2>Dead letters</h2><div class="empty" id="dead-summary">none</div>
          <table id="dead-letters"><thead><tr><th>received</th><th>reason</th></tr></thead><tbody></tbody></table></section>
        </main>
        <script>
        "use strict";
        const token = new URLSearchParams(location.search).get("token");
        const headers = token ? { "Authorization": "Bearer " + token } : {};
        const byId = (id) => document.getElementById(id);
        const number = (x) => x == null ? "–" : (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : +x.toPrecision(4)).toString();
        const time = (t) => t ? new Date(t).toLocaleTimeString() : "–";
        async function get(path, kind) {
          const response = await fetch(path, { headers, cache: "no-store" });
          if (!response.ok) throw new Error(path + ": HTTP " + response.status);
          return kind === "json" ? response.json() : response.text();
        }
        function cell(row, text, className) {
          const td = row.insertCell(); td.textContent = text; if (className) td.className = className; return td;
        }
        function fill(tableId, rows, build) {
          const body = byId(tableId).tBodies[0];
          body.replaceChildren();
          for (const item of rows) build(body.insertRow(), item);
        }
        function rateBars(perMinute) {
          const max = Math.max(1, ...perMinute), w = 10;
          let bars = "";
          perMinute.forEach((n, i) => {
            const h = 50 * n / max;
            bars += '<rect x="' + (i * w + 1) + '" y="' + (55 - h) + '" width="' + (w - 2) + '" height="' + h + '" fill="#3b7dd8"><title>' + n + '</title></rect>';
          });
          return '<svg viewBox="0 0 ' + perMinute.length * w + ' 60" preserveAspectRatio="none">' + bars + '</svg>';
        }
        function showStudy(s) {
          document.title = s.study + " · CARBS live view";
          byId("study").textContent = s.study;
          byId("phase").textContent = s.phase; byId("phase").className = "phase " + s.phase;
          const p = s.progress, b = s.budget;
          byId("observations").textContent = p.observations + (b.max_observations ? " / " + b.max_observations : "");
          byId("failures").textContent = p.failures;
          byId("in-flight-count").textContent = p.in_flight + " (" + p.running + " running)";
          byId("best").textContent = s.best ? number(s.best.output) : "–";
          byId("total-cost").textContent = number(p.total_cost) + (b.max_total_cost ? " / " + number(b.max_total_cost) : "");
          byId("per-minute").textContent = number(s.results_per_minute.last_ten_minutes);
          const fraction = p.budget_fraction == null ? 0 : p.budget_fraction;
          byId("budget-bar").style.width = (100 * fraction).toFixed(1) + "%";
          byId("budget-text").textContent = (100 * fraction).toFixed(1) + "% of the budget · " + Math.round(s.elapsed_seconds) + " s elapsed";
          byId("rate").innerHTML = rateBars(s.results_per_minute.per_minute);
          fill("laws", s.scaling_laws, (row, law) => {
            cell(row, law.parameter); cell(row, number(law.exponent), "num"); cell(row, number(law.r_squared), "num"); cell(row, law.points, "num");
          });
          byId("law-warnings").textContent = s.scaling_warnings.join(" · ");
          const dead = s.dead_letters;
          byId("dead-summary").textContent = dead.total === 0 ? "none" :
            dead.total + " in all: " + Object.entries(dead.by_reason).map(([k, v]) => k + " " + v).join(", ");
          fill("dead-letters", dead.recent, (row, d) => {
            row.dataset.reason = d.reason_code; cell(row, time(d.received_at)); cell(row, d.reason, "reason");
          });
          byId("dead-letters").style.display = dead.total === 0 ? "none" : "table";
        }
        function showInFlight(f) {
          fill("in-flight", f.runs, (row, r) => {
            row.className = "run"; row.dataset.suggestionId = r.suggestion_id; row.dataset.attempt = r.attempt;
            row.dataset.state = r.state; row.dataset.worker = r.worker || "";
            cell(row, r.suggestion_id.slice(0, 8)).title = r.suggestion_id; cell(row, r.attempt, "num"); cell(row, r.state);
            cell(row, r.worker || "–"); cell(row, time(r.started_at)); cell(row, time(r.last_heartbeat_at));
            cell(row, r.lease_seconds_left == null ? "–" : r.lease_seconds_left.toFixed(0), "num");
          });
          byId("in-flight-empty").style.display = f.runs.length ? "none" : "block";
        }
        let busy = false;
        async function refresh() {
          if (busy) return;
          busy = true;
          try {
            const [study, inFlight, frontier, scaling] = await Promise.all([
              get("/api/v1/study", "json"), get("/api/v1/in-flight", "json"),
              get("/plots/frontier.svg", "text"), get("/plots/scaling.svg", "text")]);
            showStudy(study); showInFlight(inFlight);
            byId("frontier").innerHTML = frontier;
            byId("scaling").innerHTML = study.pareto.length > 1 ? scaling : "";
            byId("updated").textContent = "updated " + new Date().toLocaleTimeString();
            byId("error").textContent = "";
            document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
          } catch (error) {
            byId("error").textContent = String(error);
          } finally {
            busy = false;
          }
        }
        refresh();
        setInterval(refresh, 1000);
        </script>
        </body>
        </html>

        """
}
