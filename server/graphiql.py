"""GraphiQL at GET /graphql (development): Strawberry's page, which loads its code from
unpkg.com, and, when that cannot be had (offline, or a network that blocks the CDN),
a page of our own instead of a blank one: it says why, and offers the browser client
(/app/), the schema as SDL (GET /graphql/schema.graphql) and a request to paste into a
shell.

No maintained Python package ships GraphiQL's files to serve them from here, and
vendoring its build (React and all) would put a few megabytes of someone else's
JavaScript in this repository; the fallback is what the issue asked for instead.
"""

from __future__ import annotations

from functools import cache

from strawberry.http.ides import get_graphql_ide_html

# Runs after the CDN's scripts and before Strawberry's own, which needs them.
_FALLBACK = """
    <script>
      if (typeof React === "undefined" || typeof GraphiQL === "undefined") {
        document.title = "Funnelgraph: GraphiQL could not load";
        document.getElementById("graphiql").outerHTML = `
          <main id="graphiql-offline" style="font: 16px/1.5 system-ui, sans-serif;
              max-width: 46rem; margin: 3rem auto; padding: 0 1rem;">
            <h1>GraphiQL could not load</h1>
            <p>GraphiQL loads its code from <code>unpkg.com</code>, which this browser
              cannot reach (offline, or blocked). The API itself works:</p>
            <ul>
              <li>the board and chat in this server's own client:
                <a id="web-client" href="/app/">/app/</a></li>
              <li>the schema, as SDL:
                <a id="sdl" href="/graphql/schema.graphql">/graphql/schema.graphql</a></li>
              <li>a query from a shell:
                <pre>curl -s ${location.origin}/graphql -H 'Content-Type: application/json' \\\\
  -d '{"query": "{ me { id name } }"}'</pre></li>
            </ul>
            <p>Sign in with the <code>login</code> mutation and send its token as
              <code>Authorization: Bearer &lt;token&gt;</code>.</p>
          </main>`;
        window.graphiqlUnavailable = true;
        throw new Error("GraphiQL could not load from unpkg.com: showing the offline page");
      }
    </script>
"""
_BEFORE = "    <script>\n      const EXAMPLE_QUERY"


@cache
def graphiql_page() -> str:
    """Strawberry's GraphiQL page with the offline fallback before its own script."""
    page = get_graphql_ide_html(graphql_ide="graphiql")
    if _BEFORE not in page:  # a Strawberry whose page changed: its page as it is
        return page
    return page.replace(_BEFORE, _FALLBACK + _BEFORE, 1)
