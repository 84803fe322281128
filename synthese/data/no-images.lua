-- Proceedings never fetch or embed what a participant linked as an image:
-- each image becomes its description (pandoc also runs with --sandbox).
-- The server's own photos of the boards pass: they carry the class given
-- as the metadata field photo-class, drawn afresh for each document, which
-- no sheet's text can know.
local photo_class = nil

local function read_class (meta)
  if meta["photo-class"] then
    photo_class = pandoc.utils.stringify(meta["photo-class"])
  end
end

local function image (img)
  if photo_class and img.classes:includes(photo_class) and img.src:match("^data:image/jpeg;base64,") then
    img.classes = {}
    return img
  end
  return img.caption
end

-- pandoc's CommonMark reader always reads raw HTML: show it as typed, as
-- the published page does (synthese/rendering.py), rather than obey it.
local function raw_inline (raw)
  return pandoc.Str(raw.text)
end

local function raw_block (raw)
  return pandoc.Para({ pandoc.Str(raw.text) })
end

return {
  { Meta = read_class },
  { Image = image, RawInline = raw_inline, RawBlock = raw_block },
}
