"""A sparse LP handed to GLOP through MathOpt protocol buffers, solved in stages.

Why protos and not a modelling API: building one Python object per variable or coefficient
dominated the solve time on province-size models. MathOpt's `ModelProto` stores bounds,
objective and matrix as packed columns, so numpy arrays go in with a few `extend` calls.
Why an incremental solver: the lexicographic stages change only the objective and add one
row each; GLOP keeps its factorisation and restarts from the previous basis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.math_opt import (
    callback_pb2,
    model_parameters_pb2,
    model_pb2,
    model_update_pb2,
    parameters_pb2,
    result_pb2,
    solution_pb2,
)
from ortools.math_opt.core.python import solver as core_solver

OPTIMAL = result_pb2.TERMINATION_REASON_OPTIMAL
IMPRECISE = result_pb2.TERMINATION_REASON_IMPRECISE


class LPFailed(RuntimeError):
    """GLOP stopped without an optimal solution (time limit, numerical trouble)."""


@dataclass
class SparseLP:
    """min c.x subject to row_lb <= A x <= row_ub, var_lb <= x <= var_ub.

    A is given as triplets (rows, cols, vals) in any order.
    """

    var_lb: np.ndarray
    var_ub: np.ndarray
    objective: np.ndarray
    row_lb: np.ndarray
    row_ub: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray


class StagedLP:
    """An LP kept inside one GLOP instance while its objective changes stage by stage."""

    def __init__(self, lp: SparseLP):
        self.num_vars = lp.var_lb.size
        self.num_rows = lp.row_lb.size
        # Bounds as GLOP has them now (after every update), so that callers can fix and
        # restore variables and rows without keeping their own copy.
        self.var_lb = np.asarray(lp.var_lb, float).copy()
        self.var_ub = np.asarray(lp.var_ub, float).copy()
        self.row_lb = np.asarray(lp.row_lb, float).copy()
        self.row_ub = np.asarray(lp.row_ub, float).copy()
        self._objective = np.asarray(lp.objective, float)
        self._model = _model_proto(lp)
        # Structural updates since (new rows, columns, coefficients), to rebuild a fresh
        # solver if needed; bounds come from the arrays above, so fixing and releasing
        # stages again and again (re-planning) does not grow this list.
        self._updates: list = []
        self._solver = self._fresh_solver()
        self.last_precise = True  # False when GLOP could only give an imprecise optimum
        self._last_dual = None  # DualSolutionProto of the last solve, decoded on demand

    def minimise(
        self, objective: np.ndarray, time_limit_s: float | None = None, basis=None, scaled=True
    ):
        """Switch to a new objective (dense, one entry per variable), solve.

        `basis` (a BasisProto from an earlier solve of a model with the same rows and
        columns) replaces GLOP's current basis as the starting point. `scaled=False` turns
        GLOP's matrix scaling off for this solve. Returns (x, basis).
        """
        changed = np.flatnonzero(objective != self._objective)
        if changed.size:
            update = model_update_pb2.ModelUpdateProto()
            _fill_sparse(update.objective_updates.linear_coefficients, changed, objective[changed])
            self._apply(update, log=False)  # a rebuild sets the whole current objective
            self._objective = objective.copy()
        return self._solve(time_limit_s, basis, scaled)

    def add_row(self, cols: np.ndarray, vals: np.ndarray, lb: float, ub: float) -> int:
        """Append the row lb <= sum vals * x[cols] <= ub; returns its index."""
        update = model_update_pb2.ModelUpdateProto()
        row = self.num_rows
        update.new_linear_constraints.ids.append(row)
        update.new_linear_constraints.lower_bounds.append(lb)
        update.new_linear_constraints.upper_bounds.append(ub)
        order = np.argsort(cols, kind="stable")
        mat = update.linear_constraint_matrix_updates
        mat.row_ids.extend(_listed(np.full(cols.size, row, np.int64)))
        mat.column_ids.extend(_listed(np.asarray(cols, np.int64)[order]))
        mat.coefficients.extend(_listed(np.asarray(vals, float)[order]))
        self._apply(update)
        self.num_rows += 1
        self.row_lb = np.append(self.row_lb, lb)
        self.row_ub = np.append(self.row_ub, ub)
        return row

    def edit_demand(self, *, row, quantity, u_col, x_cols, x_ub, equity_row, z_col) -> None:
        """One update for a changed demand: row == quantity, u <= quantity, x bounds, and
        the equity row quantity * z + u <= quantity."""
        update = model_update_pb2.ModelUpdateProto()
        cons = update.linear_constraint_updates
        rows, lbs, ubs = [row], [quantity], [quantity]
        if equity_row is not None:
            rows.append(equity_row)
            lbs.append(-np.inf)
            ubs.append(quantity)
            mat = update.linear_constraint_matrix_updates
            mat.row_ids.append(equity_row)
            mat.column_ids.append(z_col)
            mat.coefficients.append(quantity)
        _fill_sparse(cons.lower_bounds, rows, lbs)
        _fill_sparse(cons.upper_bounds, rows, ubs)
        cols = np.concatenate([[u_col], x_cols])
        order = np.argsort(cols)
        ubs_x = np.concatenate([[quantity], x_ub])[order]
        _fill_sparse(update.variable_updates.upper_bounds, cols[order], ubs_x)
        self._apply(update)
        self.row_lb[rows], self.row_ub[rows] = lbs, ubs
        self.var_ub[cols[order]] = ubs_x

    def set_row_bounds(self, row: int, lb: float, ub: float) -> None:
        self.set_bounds(rows=np.array([row]), row_lb=np.array([lb]), row_ub=np.array([ub]))

    def set_bounds(self, cols=None, lb=None, ub=None, rows=None, row_lb=None, row_ub=None):
        """New bounds for columns `cols` and rows `rows` (sorted index arrays), one update."""
        update = model_update_pb2.ModelUpdateProto()
        if cols is not None and cols.size:
            variables = update.variable_updates
            _fill_changed(variables.lower_bounds, self.var_lb, cols, lb)
            _fill_changed(variables.upper_bounds, self.var_ub, cols, ub)
        if rows is not None and rows.size:
            constraints = update.linear_constraint_updates
            _fill_changed(constraints.lower_bounds, self.row_lb, rows, row_lb)
            _fill_changed(constraints.upper_bounds, self.row_ub, rows, row_ub)
        self._apply(update, log=False)

    def _apply(self, update, log: bool = True) -> None:
        if not self._solver.update(update):
            raise LPFailed("GLOP refused an incremental model update")
        if log:
            self._updates.append(update)

    def _fresh_solver(self):
        """A new GLOP instance with the model as it stands now (original + logged updates)."""
        solver = core_solver.new(
            parameters_pb2.SOLVER_TYPE_GLOP, self._model, parameters_pb2.SolverInitializerProto()
        )
        for update in self._updates:
            solver.update(update)
        current = model_update_pb2.ModelUpdateProto()
        ids = np.arange(self._objective.size)
        _fill_sparse(current.objective_updates.linear_coefficients, ids, self._objective)
        _fill_sparse(current.variable_updates.lower_bounds, ids, self.var_lb)
        _fill_sparse(current.variable_updates.upper_bounds, ids, self.var_ub)
        rows = np.arange(self.num_rows)
        _fill_sparse(current.linear_constraint_updates.lower_bounds, rows, self.row_lb)
        _fill_sparse(current.linear_constraint_updates.upper_bounds, rows, self.row_ub)
        solver.update(current)
        return solver

    def _solve(self, time_limit_s: float | None, basis, scaled: bool):
        result = self._run(time_limit_s, preprocessing=False, basis=basis, scaled=scaled)
        if result.termination.reason == IMPRECISE:
            # Warm restarts skip GLOP's preprocessing (the equity stage restarts 3x faster);
            # on the rare imprecise answer, solve once more from scratch with it.
            self._solver = self._fresh_solver()
            result = self._run(time_limit_s, preprocessing=True, basis=None)
        reason = result.termination.reason
        self.last_precise = reason == OPTIMAL
        # An imprecise optimum is still usable: the integer plan is repaired and checked
        # against every constraint afterwards; the caller reports the stage as unproven.
        if reason not in (OPTIMAL, IMPRECISE) or not result.solutions:
            reason = result_pb2.TerminationReasonProto.Name(result.termination.reason)
            raise LPFailed(f"{reason} {result.termination.detail}".strip())
        solution = result.solutions[0]
        self._last_dual = solution.dual_solution
        return _dense(solution.primal_solution.variable_values, self.num_vars), solution.basis

    # Decoding a 50,000-entry protobuf vector takes a few ms; most stages need neither.
    @property
    def last_duals(self) -> np.ndarray:
        """Row duals y of the last solve (reduced costs are c - A^T y)."""
        return _dense(self._last_dual.dual_values, self.num_rows)

    @property
    def last_reduced_costs(self) -> np.ndarray:
        """c - A^T y of every column, last solve."""
        return _dense(self._last_dual.reduced_costs, self.num_vars)

    def _run(self, time_limit_s: float | None, preprocessing: bool, basis, scaled=True):
        params = parameters_pb2.SolveParametersProto()
        params.threads = 1  # deterministic, and the machine is shared
        params.glop.use_preprocessing = preprocessing
        params.glop.use_scaling = scaled
        if time_limit_s is not None:
            params.time_limit.FromNanoseconds(int(max(time_limit_s, 1e-3) * 1e9))
        model_params = model_parameters_pb2.ModelSolveParametersProto()
        model_params.variable_values_filter.skip_zero_values = True  # most arcs ship nothing
        if basis is not None:
            # A stored basis is this stage's optimum before an edit: still dual feasible
            # (the objective is the same; only bounds and right-hand sides moved), so the
            # dual simplex needs only the pivots the edit causes. The primal simplex first
            # recomputed steepest-edge norms for every column: 0.1-0.2 s per stage with no
            # pivot at all on a province model.
            params.glop.use_dual_simplex = True
            model_params.initial_basis.CopyFrom(basis)
            # Rows added since that solve start basic (their slack takes the slack).
            status = model_params.initial_basis.constraint_status
            known = len(status.ids)
            status.ids.extend(np.arange(known, self.num_rows, dtype=np.int64))
            status.values.extend(np.full(self.num_rows - known, solution_pb2.BASIS_STATUS_BASIC))
        return self._solver.solve(
            params,
            model_params,
            None,
            callback_pb2.CallbackRegistrationProto(),
            None,
            None,
        )


def _model_proto(lp: SparseLP):
    """Pack the arrays into a MathOpt ModelProto (matrix sorted row-major, as required)."""
    model = model_pb2.ModelProto()
    model.variables.ids.extend(_listed(np.arange(lp.var_lb.size, dtype=np.int64)))
    model.variables.lower_bounds.extend(_listed(lp.var_lb.astype(float)))
    model.variables.upper_bounds.extend(_listed(lp.var_ub.astype(float)))
    model.variables.integers.extend(_listed(np.zeros(lp.var_lb.size, bool)))
    nz = np.flatnonzero(lp.objective)
    _fill_sparse(model.objective.linear_coefficients, nz, lp.objective[nz])
    model.linear_constraints.ids.extend(_listed(np.arange(lp.row_lb.size, dtype=np.int64)))
    model.linear_constraints.lower_bounds.extend(_listed(lp.row_lb.astype(float)))
    model.linear_constraints.upper_bounds.extend(_listed(lp.row_ub.astype(float)))
    order = np.lexsort((lp.cols, lp.rows))
    mat = model.linear_constraint_matrix
    mat.row_ids.extend(_listed(lp.rows[order].astype(np.int64)))
    mat.column_ids.extend(_listed(lp.cols[order].astype(np.int64)))
    mat.coefficients.extend(_listed(lp.vals[order].astype(float)))
    return model


def _fill_changed(target, current: np.ndarray, ids: np.ndarray, values) -> None:
    """Put the entries of `values` that differ from `current[ids]` into `target` and into
    `current` (fixing a face mostly moves one bound of each column, so half the data)."""
    values = np.broadcast_to(np.asarray(values, float), ids.shape)
    changed = values != current[ids]
    _fill_sparse(target, ids[changed], values[changed])
    current[ids[changed]] = values[changed]


def _listed(values) -> list:
    """A numpy array as a Python list: protobuf's `extend` takes a list ~30 % faster."""
    return np.asarray(values).tolist()


def _dense(sparse, size: int) -> np.ndarray:
    out = np.zeros(size)
    n = len(sparse.ids)
    out[np.fromiter(sparse.ids, np.int64, n)] = np.fromiter(sparse.values, float, n)
    return out


def _fill_sparse(target, ids, values) -> None:
    target.ids.extend(_listed(np.asarray(ids, np.int64)))
    target.values.extend(_listed(np.asarray(values, float)))
