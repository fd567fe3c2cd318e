"""The `data` the sandbox sends when a test or an emitted event gives none.

One realistic sample per event group, with the field names and JSON types of the Pancake POS
objects the typed events in `pancake_pos.events` model: an order (with its items and shipping
address), a customer, an inventory change, a product (with its variations), a payment transaction
and a loyalty points change. Numbers are JSON numbers, dates ISO 8601 strings.

Example:

    >>> sample_data("order.created")["status_name"]
    'new'
    >>> sample_data("billing.updated")
    {}
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["SAMPLE_GROUPS", "sample_data"]

_ADDRESS: dict[str, Any] = {
    "id": "addr_1001",
    "country_code": "84",
    "province_id": "717",
    "district_id": "71705",
    "commune_id": "7170507",
    "address": "12 Nguyen Hue, Ben Nghe",
    "full_name": "Nguyen Van A",
    "phone_number": "0901234567",
}

_VARIATION: dict[str, Any] = {
    "id": "var_3001_m",
    "fields": [{"name": "Size", "value": "M"}, {"name": "Color", "value": "Blue"}],
    "images": ["https://example.com/images/shirt-blue-m.jpg"],
    "last_imported_price": 120000,
    "retail_price": 250000,
    "price_at_counter": 250000,
    "weight": 200,
    "barcode": "8931234567890",
    "custom_id": "SHIRT-BLUE-M",
    "is_hidden": False,
    "stock": 42,
    "sku": "SHIRT-BLUE-M",
    "wholesale_price": 180000,
}

_PRODUCT: dict[str, Any] = {
    "id": "prod_3001",
    "name": "Cotton shirt",
    "category_ids": [12, 34],
    "note_product": "Best seller",
    "weight": 200,
    "custom_id": "SHIRT",
    "is_published": True,
    "variations": [_VARIATION],
    "stock": 42,
    "description": "A plain cotton shirt.",
    "images": ["https://example.com/images/shirt.jpg"],
    "tags": ["summer", "cotton"],
    "measure_unit": "piece",
    "wholesale_price": 180000,
    "retail_price": 250000,
    "warranty_info": "30 days",
    "specifications": [{"name": "Material", "value": "Cotton"}],
}

_SAMPLES: dict[str, dict[str, Any]] = {
    "order": {
        "id": 1001,
        "shop_id": 2001,
        "status": 0,
        "status_name": "new",
        "sub_status": 0,
        "items": [
            {
                "product_id": "prod_3001",
                "variation_id": "var_3001_m",
                "quantity": 2,
                "is_wholesale": False,
                "discount_each_product": 0,
                "is_discount_percent": False,
                "is_bonus_product": False,
            }
        ],
        "shipping_address": _ADDRESS,
        "shipping_fee": 30000,
        "total_discount": 0,
        "note": "Leave at the front desk.",
        "warehouse_id": "wh_main",
        "inserted_at": "2024-04-29T10:15:01Z",
        "updated_at": "2024-04-29T10:15:01Z",
        "partner": {
            "partner_id": 1,
            "cod": 530000,
            "total_fee": 30000,
            "is_returned": False,
            "extend_code": "GHN123456",
        },
        "bill_full_name": "Nguyen Van A",
        "bill_phone_number": "0901234567",
        "is_free_shipping": False,
        "customer_pay_fee": True,
    },
    "customer": {
        "id": "cus_2001",
        "name": "Nguyen Van A",
        "phone_numbers": ["0901234567"],
        "emails": ["a.nguyen@example.com"],
        "date_of_birth": "1990-05-17",
        "gender": "male",
        "reward_point": 120,
        "tags": ["vip"],
        "shop_customer_addresses": [_ADDRESS],
    },
    "inventory": {
        "product_id": "prod_3001",
        "variation_id": "var_3001_m",
        "warehouse_id": "wh_main",
        "stock": 42,
        "product": _PRODUCT,
    },
    "product": _PRODUCT,
    "transaction": {
        "id": "txn_4001",
        "order_id": "1001",
        "gateway_code": "vnpay",
        "amount": 530000,
        "currency": "VND",
        "status": "completed",
        "method": "qr",
        "gateway_reference": "VNP14012345",
        "gateway_response": {"response_code": "00"},
        "refund_status": "none",
        "refunded_amount": 0,
        "created_at": "2024-04-29T10:16:00Z",
        "updated_at": "2024-04-29T10:16:30Z",
        "completed_at": "2024-04-29T10:16:30Z",
    },
    "loyalty": {
        "id": "lty_5001",
        "customer_id": "cus_2001",
        "type": "earn",
        "points": 53,
        "order_id": "1001",
        "reason": "Order 1001 completed",
        "expiry_date": "2025-04-29",
        "created_at": "2024-04-29T10:17:00Z",
        "created_by": {"id": "usr_1", "name": "Shop owner"},
    },
}

SAMPLE_GROUPS = tuple(_SAMPLES)
"""The event groups that have a sample."""

_AS_JSON = {group: json.dumps(sample) for group, sample in _SAMPLES.items()}


def sample_data(event: str) -> dict[str, Any]:
    """A fresh copy of the sample `data` for `event`'s group (`{}` for a group it does not know)."""
    data: dict[str, Any] = json.loads(_AS_JSON.get(event.split(".", 1)[0], "{}"))
    return data
