"""Compiled reads: a selection answered from one statement, without value completion.

Why: on the standard catalog page (20 courses with their provider and first schedules)
most of a worker's time went to graphql-core completing some 400 values one resolver call
at a time, to strawberry's per-field wrapping and to a second statement for the schedules.
Servers like PostGraphile get their speed by compiling a selection into one query and
handing back the finished value; this does the same for the fields that opt in.

How a domain opts in (the catalog's ``courses`` is the first, a disbursement batch's
``items`` page the second, the programme's statistics, lists of figure groups, the third):

1. each type its field returns declares how every field is read from its record
   (``declare.column``, ``global_id``, ``reads(Nested(...))``, ``reads(Related(...))``)
   and builds itself from the record with ``declare.record_values`` in ``from_record``;
2. a read function in ``resolvers`` takes a ``resolvers.compiled_reads.ReadPlan`` and
   returns records, joining the related lists the plan names;
3. the root field gets ``extensions=[CompiledRead(read)]``, where ``read`` validates the
   arguments exactly as the resolver does and calls the resolvers' read function; a field
   of an object type (a page below its parent) gets ``CompiledFieldRead(read)`` instead,
   whose ``read`` also takes the parent object (its resolver's ``self``). A root field
   may be a list of non-null objects (``programFigures``): the read returns the records.

The compiler refuses what it cannot answer like the normal path (see ``compiler``), and
every refusal is counted by reason (``metrics.FALLBACKS``) and logged.

A query whose only root field a ``CompiledRead`` answered becomes a compiled document
(``documents``): the view answers the same document, variables and caller class next time
without GraphQL at all, and, when the read says it needs no transaction (the public
catalog), with its statements in autocommit instead of BEGIN, the page and COMMIT.
"""

from schema.compiled.declare import (
    Column,
    GlobalId,
    Nested,
    Related,
    column,
    global_id,
    reads,
    record_values,
)
from schema.compiled.executor import CompiledReadExecutor, Finished
from schema.compiled.extension import CompiledFieldRead, CompiledRead, no_transaction
from schema.compiled.metrics import FALLBACKS, FallbackCounter, FallbackReason

__all__ = [
    "FALLBACKS",
    "Column",
    "CompiledFieldRead",
    "CompiledRead",
    "CompiledReadExecutor",
    "FallbackCounter",
    "FallbackReason",
    "Finished",
    "GlobalId",
    "Nested",
    "Related",
    "column",
    "global_id",
    "no_transaction",
    "reads",
    "record_values",
]
