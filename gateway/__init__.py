"""The top floor: the process and HTTP (app, GraphQL view, middleware, CLI, seed, demo).

The Prakerja partner gateway: one GraphQL API for every partner of the programme. This
package may import every other; none imports it (see ARCHITECTURE.md).
"""

__version__ = "0.1.0"
