# Generated from openapi/pancake-pos-webhooks.yaml by python -m codegen; do not edit.
"""What the events of the Pancake POS Webhooks API carry in ``data`` (API version 1.0.0).

One attrs class per event group's data (``Order``, ``Customer``, ``InventoryChange``, ``Product``,
``Transaction``, ``LoyaltyPointsChange``) and the classes and enums they use. Every field is
optional and defaults to ``None``; fields typed by an enum also accept any other string. Values
keep their JSON types: nothing is coerced. ``pancake_pos.events.parse_event`` builds them.

Example:
    >>> from pancake_pos.event_data import Order, OrderItem
    >>> Order(id=1024, items=[OrderItem(product_id="prd_1", quantity=2)]).items[0].quantity
    2
"""

from __future__ import annotations

import datetime
import enum
from typing import Any

import attrs

__all__ = [
    "Customer",
    "CustomerAddress",
    "CustomerGender",
    "InventoryChange",
    "LoyaltyActor",
    "LoyaltyPointsChange",
    "LoyaltyPointsChangeType",
    "Order",
    "OrderItem",
    "OrderItemComponent",
    "OrderItemVariationInfo",
    "OrderPartner",
    "PaymentGatewayCode",
    "PaymentStatus",
    "Product",
    "ProductField",
    "ProductSpecification",
    "ProductVariation",
    "RefundStatus",
    "Transaction",
    "TransactionError",
]


@attrs.define(kw_only=True, slots=True)
class Order:
    """The `data` of `order.*` events.

    Attributes:
        id: The order's id.
        shop_id: The shop's numeric id.
        status: The order's status code.
        status_name: The order's status as text.
        sub_status: A finer status code.
        items: What was ordered.
        shipping_address: A postal address of a customer (and an order's shipping address).
        shipping_fee: The shipping fee.
        total_discount: The discount on the whole order.
        note: The order's note.
        warehouse_id: The warehouse the order ships from.
        inserted_at: When the order was created.
        updated_at: When the order last changed.
        partner: The shipping partner of an order.
        bill_full_name: The buyer's name.
        bill_phone_number: The buyer's phone number.
        is_free_shipping: Whether shipping is free.
        customer_pay_fee: Whether the customer pays the shipping fee.
    """

    id: int | None = None
    shop_id: int | None = None
    status: int | None = None
    status_name: str | None = None
    sub_status: int | None = None
    items: list[OrderItem] | None = None
    shipping_address: CustomerAddress | None = None
    shipping_fee: float | None = None
    total_discount: float | None = None
    note: str | None = None
    warehouse_id: str | None = None
    inserted_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None
    partner: OrderPartner | None = None
    bill_full_name: str | None = None
    bill_phone_number: str | None = None
    is_free_shipping: bool | None = None
    customer_pay_fee: bool | None = None


@attrs.define(kw_only=True, slots=True)
class OrderItem:
    """One line of an order.

    Attributes:
        product_id: The product's id.
        variation_id: The variation's id.
        quantity: How many.
        is_wholesale: Sold at the wholesale price.
        discount_each_product: The discount on each unit.
        is_discount_percent: Whether the discount is a percentage.
        is_bonus_product: A free bonus product.
        components: The parts of a combo product.
    """

    product_id: str | None = None
    variation_id: str | None = None
    quantity: int | None = None
    is_wholesale: bool | None = None
    discount_each_product: float | None = None
    is_discount_percent: bool | None = None
    is_bonus_product: bool | None = None
    components: list[OrderItemComponent] | None = None


@attrs.define(kw_only=True, slots=True)
class OrderItemComponent:
    """One part of a combo product in an order line.

    Attributes:
        component_id: The component's id.
        quantity: How many.
        variation_id: The component's variation.
        variation_info: What a component's variation is.
    """

    component_id: str | None = None
    quantity: int | None = None
    variation_id: str | None = None
    variation_info: OrderItemVariationInfo | None = None


@attrs.define(kw_only=True, slots=True)
class OrderItemVariationInfo:
    """What a component's variation is.

    Attributes:
        detail: A description of the variation.
        id: The variation's id.
        images: Image URLs.
        name: The variation's name.
        product_id: The product's id.
        retail_price: The retail price.
    """

    detail: str | None = None
    id: str | None = None
    images: list[str] | None = None
    name: str | None = None
    product_id: str | None = None
    retail_price: float | None = None


@attrs.define(kw_only=True, slots=True)
class OrderPartner:
    """The shipping partner of an order.

    Attributes:
        partner_id: The partner's id.
        cod: The cash on delivery amount.
        total_fee: The partner's total fee.
        is_returned: Whether the parcel came back.
        extend_code: The partner's tracking code.
    """

    partner_id: int | None = None
    cod: float | None = None
    total_fee: float | None = None
    is_returned: bool | None = None
    extend_code: str | None = None


@attrs.define(kw_only=True, slots=True)
class CustomerAddress:
    """A postal address of a customer (and an order's shipping address).

    Attributes:
        id: The address's id.
        country_code: The country code.
        province_id: The province's id.
        district_id: The district's id.
        commune_id: The commune's id.
        address: The street address.
        full_name: The recipient's name.
        phone_number: The recipient's phone number.
    """

    id: str | None = None
    country_code: str | None = None
    province_id: str | None = None
    district_id: str | None = None
    commune_id: str | None = None
    address: str | None = None
    full_name: str | None = None
    phone_number: str | None = None


@attrs.define(kw_only=True, slots=True)
class Customer:
    """The `data` of `customer.*` events.

    Attributes:
        id: The customer's id.
        name: The customer's name.
        phone_numbers: Phone numbers.
        emails: Email addresses.
        date_of_birth: The date of birth
        gender: The customer's gender. One of `male`, `female`.
        reward_point: The customer's reward points.
        tags: The shop's tags for the customer.
        shop_customer_addresses: The customer's addresses.
    """

    id: str | None = None
    name: str | None = None
    phone_numbers: list[str] | None = None
    emails: list[str] | None = None
    date_of_birth: str | None = None
    gender: CustomerGender | str | None = None
    reward_point: int | None = None
    tags: list[str] | None = None
    shop_customer_addresses: list[CustomerAddress] | None = None


class CustomerGender(enum.StrEnum):
    """The customer's gender."""

    MALE = "male"
    FEMALE = "female"


@attrs.define(kw_only=True, slots=True)
class InventoryChange:
    """The `data` of `inventory.*` events; a product's stock in a warehouse changed.

    Attributes:
        product_id: The product's id.
        variation_id: The variation's id
        warehouse_id: The warehouse's id.
        stock: The stock now.
        product: The `data` of `product.*` events.
    """

    product_id: str | None = None
    variation_id: str | None = None
    warehouse_id: str | None = None
    stock: int | None = None
    product: Product | None = None


@attrs.define(kw_only=True, slots=True)
class Product:
    """The `data` of `product.*` events.

    Attributes:
        id: The product's id.
        name: The product's name.
        category_ids: The product's categories.
        note_product: A note on the product.
        weight: The weight in grams.
        custom_id: The shop's own code for the product.
        is_published: Whether the product is on sale.
        variations: The product's variations.
        stock: The total stock.
        description: The product's description.
        images: Image URLs.
        tags: The shop's tags for the product.
        measure_unit: The unit it is sold by.
        wholesale_price: The wholesale price.
        retail_price: The retail price.
        warranty_info: The warranty.
        specifications: Named specifications.
    """

    id: str | None = None
    name: str | None = None
    category_ids: list[int] | None = None
    note_product: str | None = None
    weight: float | None = None
    custom_id: str | None = None
    is_published: bool | None = None
    variations: list[ProductVariation] | None = None
    stock: int | None = None
    description: str | None = None
    images: list[str] | None = None
    tags: list[str] | None = None
    measure_unit: str | None = None
    wholesale_price: float | None = None
    retail_price: float | None = None
    warranty_info: str | None = None
    specifications: list[ProductSpecification] | None = None


@attrs.define(kw_only=True, slots=True)
class ProductVariation:
    """One variation of a product.

    Attributes:
        id: The variation's id.
        fields: What sets this variation apart (size, colour...).
        images: Image URLs.
        last_imported_price: The last purchase price.
        retail_price: The retail price.
        price_at_counter: The price at the counter.
        weight: The weight in grams.
        barcode: The barcode.
        custom_id: The shop's own code for the variation.
        is_hidden: Whether the variation is hidden.
        stock: The stock.
        sku: The SKU.
        wholesale_price: The wholesale price.
    """

    id: str | None = None
    fields: list[ProductField] | None = None
    images: list[str] | None = None
    last_imported_price: float | None = None
    retail_price: float | None = None
    price_at_counter: float | None = None
    weight: float | None = None
    barcode: str | None = None
    custom_id: str | None = None
    is_hidden: bool | None = None
    stock: int | None = None
    sku: str | None = None
    wholesale_price: float | None = None


@attrs.define(kw_only=True, slots=True)
class ProductField:
    """One attribute of a variation.

    Attributes:
        name: The attribute's name.
        value: Its value.
    """

    name: str | None = None
    value: str | None = None


@attrs.define(kw_only=True, slots=True)
class ProductSpecification:
    """One specification of a product.

    Attributes:
        name: The specification's name.
        value: Its value.
    """

    name: str | None = None
    value: str | None = None


class PaymentGatewayCode(enum.StrEnum):
    """The payment gateway of a transaction."""

    STRIPE = "stripe"
    PAYPAL = "paypal"
    VNPAY = "vnpay"
    MOMO = "momo"
    ZALOPAY = "zalopay"
    GRABPAY = "grabpay"
    BANK_TRANSFER = "bank_transfer"
    COD = "cod"


class PaymentStatus(enum.StrEnum):
    """Where a payment is."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class RefundStatus(enum.StrEnum):
    """How much of a payment was refunded."""

    NONE = "none"
    PARTIAL = "partial"
    FULL = "full"
    PROCESSING = "processing"
    FAILED = "failed"


@attrs.define(kw_only=True, slots=True)
class Transaction:
    """The `data` of `transaction.*` events; a payment.

    Attributes:
        id: The transaction's id.
        order_id: The order paid for.
        gateway_code: The payment gateway of a transaction.
        amount: The amount.
        currency: The currency (ISO 4217).
        status: Where a payment is.
        method: The payment method.
        gateway_reference: The gateway's own reference.
        gateway_response: What the gateway answered.
        error: Why a payment failed.
        refund_status: How much of a payment was refunded.
        refunded_amount: How much was refunded.
        created_at: When the payment started.
        updated_at: When it last changed.
        completed_at: When it completed.
    """

    id: str | None = None
    order_id: str | None = None
    gateway_code: PaymentGatewayCode | str | None = None
    amount: float | None = None
    currency: str | None = None
    status: PaymentStatus | str | None = None
    method: str | None = None
    gateway_reference: str | None = None
    gateway_response: dict[str, Any] | None = None
    error: TransactionError | None = None
    refund_status: RefundStatus | str | None = None
    refunded_amount: float | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None
    completed_at: datetime.datetime | None = None


@attrs.define(kw_only=True, slots=True)
class TransactionError:
    """Why a payment failed.

    Attributes:
        code: The gateway's error code.
        message: The gateway's message.
    """

    code: str | None = None
    message: str | None = None


@attrs.define(kw_only=True, slots=True)
class LoyaltyPointsChange:
    """The `data` of `loyalty.*` events; points earned, redeemed, expired or adjusted.

    Attributes:
        id: The change's id.
        customer_id: The customer's id.
        type: What happened to the points. One of `earn`, `redeem`, `expire`, `adjust`.
        points: How many points.
        order_id: The order that earned or used them.
        reason: Why (for an adjustment).
        expiry_date: When the points expire
        created_at: When it happened.
        created_by: The staff member who made a change.
    """

    id: str | None = None
    customer_id: str | None = None
    type: LoyaltyPointsChangeType | str | None = None
    points: int | None = None
    order_id: str | None = None
    reason: str | None = None
    expiry_date: str | None = None
    created_at: datetime.datetime | None = None
    created_by: LoyaltyActor | None = None


class LoyaltyPointsChangeType(enum.StrEnum):
    """What happened to the points."""

    EARN = "earn"
    REDEEM = "redeem"
    EXPIRE = "expire"
    ADJUST = "adjust"


@attrs.define(kw_only=True, slots=True)
class LoyaltyActor:
    """The staff member who made a change.

    Attributes:
        id: The staff member's id.
        name: Their name.
    """

    id: str | None = None
    name: str | None = None
