"""Disbursements: batches of due installments for payment partners, their results, and
reconciliation. Nothing is ever paid twice: the database refuses it (migration 0006), and
every change here takes row locks in one order (items by id, then the batch)."""
